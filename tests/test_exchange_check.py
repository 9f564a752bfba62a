"""The exchange check's corners, on real folders with real owners (the tests run as root, as the
platform does); the whole round trip with nbgrader is in test_nbgrader_exchange.py."""
import os
import time

import pytest

from nbhosting.courses.models import Course
from nbhosting.exchange import check, layout
from nbhosting.exchange.models import NbgraderCourse
from nbhosting.workspaces.models import get_or_create_student

TS = "2026-11-22 10:00:00.000000 UTC"


@pytest.fixture
def course(db, settings, tmp_path):
    settings.DATA_ROOT = tmp_path
    settings.NBH_UID_MIN, settings.NBH_UID_MAX = 3_990_000, 3_990_999
    nbgrader = NbgraderCourse.objects.create(
        course=Course.objects.create(name="c1", git_url="unused"), enabled=True, size_limit_kb=10)
    layout.ensure(nbgrader.course)
    return nbgrader


def submission(course, name: str, uid: int, mode: int = 0o777, files: dict | None = None) -> str:
    folder = layout.exchange_dir(course.course) / "inbound" / name
    folder.mkdir()
    for relative, content in (files if files is not None else {"timestamp.txt": TS, "ps1.ipynb": "{}"}).items():
        (folder / relative).write_text(content)
        os.chown(folder / relative, uid, uid)
    os.chown(folder, uid, uid)
    folder.chmod(mode)
    return name


def names(path) -> set[str]:
    return {p.name for p in path.iterdir()}


def test_only_genuine_complete_submissions_reach_the_instructors(course):
    ann, ben = get_or_create_student("ann"), get_or_create_student("ben")
    good = submission(course, f"ann+ps1+{TS}+aaaa", ann.uid)
    writing = submission(course, f"ben+ps1+{TS}+bbbb", ben.uid, mode=0o755)
    spoof = submission(course, f"ann+ps1+{TS}+cccc", ben.uid)
    big = submission(course, f"ben+ps1+{TS}+dddd", ben.uid, files={"timestamp.txt": TS, "x": "y" * 20_000})
    unknown = submission(course, f"zed+ps1+{TS}+eeee", ben.uid)
    odd_name = submission(course, "ps1-of-ben", ben.uid)
    no_stamp = submission(course, f"ben+ps1+{TS}+ffff", ben.uid, files={"ps1.ipynb": "{}"})
    linked = submission(course, f"ben+ps1+{TS}+gggg", ben.uid)
    os.symlink("/etc/shadow", layout.exchange_dir(course.course) / "inbound" / linked / "s")
    fifo = submission(course, f"ben+ps1+{TS}+hhhh", ben.uid)
    os.mkfifo(layout.exchange_dir(course.course) / "inbound" / fifo / "f")
    foreign = submission(course, f"ben+ps1+{TS}+iiii", ben.uid)
    (layout.exchange_dir(course.course) / "inbound" / foreign / "planted").write_text("")  # root's
    stale = submission(course, f"ben+ps1+{TS}+jjjj", ben.uid, mode=0o755)
    hour_ago = time.time() - 2 * check.INCOMPLETE_AFTER
    os.utime(layout.exchange_dir(course.course) / "inbound" / stale, (hour_ago, hour_ago))
    plain = layout.exchange_dir(course.course) / "inbound" / f"ben+ps1+{TS}+kkkk"
    plain.write_text("not a folder")

    verdicts = {v.name: v for v in check.run(course)}

    assert verdicts[good].accepted
    assert writing not in verdicts  # looked at again by the next check
    reasons = {name: v.reason for name, v in verdicts.items() if not v.accepted}
    assert reasons == {
        spoof: "names ann but was submitted by ben",
        big: "is over the course's size limit (20 kB > 10 kB)",
        unknown: "names zed, who is no student of this platform",
        odd_name: "not named <student>+<assignment>+<timestamp> as nbgrader names submissions",
        no_stamp: "is not a complete nbgrader submission (no timestamp.txt)",
        linked: "holds a symlink",
        fifo: "holds a special file",
        foreign: "holds files of another user",
        stale: "left incomplete",
        plain.name: "not a folder",
    }
    assert names(layout.exchange_dir(course.course) / "inbound") == {writing}
    assert names(layout.exchange_dir(course.course) / "accepted") == {good}
    quarantine = layout.course_dir(course.course) / "quarantine"
    assert names(quarantine) == set(reasons) | {f"{n}.why" for n in reasons}
    assert "submitted by ben" in (quarantine / f"{spoof}.why").read_text()
    assert (layout.exchange_dir(course.course) / "accepted" / good).stat().st_uid == ann.uid


def test_a_name_already_accepted_is_not_replaced(course):
    ann = get_or_create_student("ann")
    name = submission(course, f"ann+ps1+{TS}+aaaa", ann.uid)
    check.run(course)
    submission(course, name, ann.uid, files={"timestamp.txt": TS, "other.ipynb": "{}"})
    [verdict] = check.run(course)
    assert not verdict.accepted and "already accepted" in verdict.reason
    assert names(layout.exchange_dir(course.course) / "accepted" / name) == {"timestamp.txt", "ps1.ipynb"}


def test_root_follows_no_symlink_an_instructor_planted(course, tmp_path):
    ann = get_or_create_student("ann")
    name = submission(course, f"ann+ps1+{TS}+aaaa", ann.uid)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    accepted = layout.exchange_dir(course.course) / "accepted"
    accepted.rmdir()
    accepted.symlink_to(elsewhere)
    with pytest.raises(OSError):
        check.run(course)
    assert list(elsewhere.iterdir()) == []
    assert names(layout.exchange_dir(course.course) / "inbound") == {name}


def test_folders_are_made_with_the_modes_nbgrader_and_the_design_need(course):
    owner = layout.instructors(course.course)
    exchange = layout.exchange_dir(course.course)
    modes = {name: oct(os.stat(exchange / name).st_mode & 0o7777) for name in layout.EXCHANGE_MODES}
    assert modes == {"outbound": "0o755", "inbound": "0o3733", "feedback": "0o711", "accepted": "0o700"}
    assert oct(exchange.stat().st_mode & 0o7777) == "0o755"
    assert {os.stat(p).st_uid for p in [exchange, *exchange.iterdir(), layout.course_dir(course.course)]} == {owner.uid}
    assert owner.name == "_instructors-c1" and owner.uid >= 3_990_000
