"""The exchange check's corners, on real folders with real owners (the tests run as root, as the
platform does); the whole round trip with nbgrader is in test_nbgrader_exchange.py."""
import errno
import os
import time

import pytest

from nbhosting.courses.models import Course
from nbhosting.exchange import check, inbound, layout
from nbhosting.exchange.models import NbgraderCourse
from nbhosting.workspaces.models import get_or_create_student

TS = "2026-11-22 10:00:00.000000 UTC"


@pytest.fixture
def course(db, settings, tmp_path):
    settings.DATA_ROOT = tmp_path
    settings.NBH_QUOTA_DRIVER = "none"  # the drop boxes' limits are tested on btrfs end to end
    settings.NBH_UID_MIN, settings.NBH_UID_MAX = 3_990_000, 3_990_999
    nbgrader = NbgraderCourse.objects.create(
        course=Course.objects.create(name="c1", git_url="unused"), enabled=True, size_limit_kb=10)
    layout.ensure(nbgrader.course)
    return nbgrader


def submission(course, name: str, uid: int, mode: int = 0o777, files: dict | None = None, box=None) -> str:
    """In the old shared drop box; in the student `box`'s own when given."""
    folder = (inbound.ensure(course, box) if box else layout.exchange_dir(course.course) / "inbound") / name
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
    # What is accepted is the platform's copy, the instructors': its author cannot write it.
    owner = layout.instructors(course.course)
    accepted = layout.exchange_dir(course.course) / "accepted" / good
    for path in (accepted, *accepted.iterdir()):
        info = path.lstat()
        assert (info.st_uid, info.st_mode & 0o022) == (owner.uid, 0), path
    assert (accepted / "ps1.ipynb").read_text() == "{}"
    # A quarantined folder is the instructors' too; nothing stays in staging.
    assert (quarantine / spoof).stat().st_uid == owner.uid
    assert list(layout.staging_dir(course.course).iterdir()) == []


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


def test_a_descriptor_kept_on_a_submission_reaches_nothing_accepted(course):
    """The attack of a student who keeps a descriptor on their folder: after the check, what it
    reaches is not what the instructors collect (the end-to-end version runs in a real container)."""
    ann = get_or_create_student("ann")
    name = submission(course, f"ann+ps1+{TS}+aaaa", ann.uid)
    held = os.open(layout.exchange_dir(course.course) / "inbound" / name, os.O_RDONLY | os.O_DIRECTORY)
    try:
        [verdict] = check.run(course)
        assert verdict.accepted
        accepted = layout.exchange_dir(course.course) / "accepted" / name
        assert os.fstat(held).st_ino != accepted.stat().st_ino
        assert os.fstat(held).st_nlink == 0  # the original is gone: links made through it land nowhere
        try:
            os.symlink("/etc/shadow", "ps1.ipynb.new", dir_fd=held)
        except OSError as exc:
            assert exc.errno == errno.ENOENT
        assert names(accepted) == {"timestamp.txt", "ps1.ipynb"}
    finally:
        os.close(held)


def test_hard_links_are_refused(course):
    ann = get_or_create_student("ann")
    mine = submission(course, f"ann+ps1+{TS}+aaaa", ann.uid)
    inbound = layout.exchange_dir(course.course) / "inbound"
    os.link(inbound / mine / "ps1.ipynb", inbound / mine / "again.ipynb")
    # A hard link to one of the instructors' files (a student cannot reach them, but if they could).
    theirs = submission(course, f"ann+ps1+{TS}+bbbb", ann.uid)
    secret = layout.course_dir(course.course) / "solution.ipynb"
    secret.write_text("the solution")
    owner = layout.instructors(course.course)
    os.chown(secret, owner.uid, owner.gid)
    os.link(secret, inbound / theirs / "solution.ipynb")

    reasons = {v.name: v.reason for v in check.run(course)}

    assert reasons == {mine: "holds a hard link", theirs: "holds files of another user"}
    assert names(layout.exchange_dir(course.course) / "accepted") == set()


@pytest.mark.parametrize("swap, reason", [
    ("symlink inside", "holds a symlink"),
    ("mode", "changed while it was checked"),
    ("folder renamed", "changed while it was checked"),
    ("hard link", "holds a hard link"),
])
def test_a_submission_changed_between_the_look_and_the_move_is_checked_again(course, monkeypatch, swap, reason):
    """judge() looks at the submission in inbound; its author may change it right after. Whatever
    it is by the time it is staged is what is checked, entry by entry."""
    ann = get_or_create_student("ann")
    name = submission(course, f"ann+ps1+{TS}+aaaa", ann.uid)
    folder = layout.exchange_dir(course.course) / "inbound" / name
    looked = check.judge

    def judge_then_change(inbound_fd, entry, uids):
        verdict = looked(inbound_fd, entry, uids)
        if swap == "symlink inside":
            os.symlink("/home/jovyan/c1/source/ps1/ps1.ipynb", folder / "solution.ipynb")
        elif swap == "mode":
            folder.chmod(0o700)
        elif swap == "folder renamed":
            folder.rename(folder.with_name("elsewhere"))
            folder.symlink_to("elsewhere")
            os.lchown(folder, ann.uid, ann.gid)
        else:
            os.link(folder / "ps1.ipynb", folder.with_name("kept-by-ann"))
        return verdict

    monkeypatch.setattr(check, "judge", judge_then_change)
    [verdict] = check.run(course)
    assert (verdict.accepted, verdict.reason) == (False, reason)
    assert names(layout.exchange_dir(course.course) / "accepted") == set()
    assert list(layout.staging_dir(course.course).iterdir()) == []


def test_a_check_killed_halfway_loses_no_submission(course):
    ann = get_or_create_student("ann")
    name = submission(course, f"ann+ps1+{TS}+aaaa", ann.uid)
    box = layout.staging_dir(course.course) / "0123456789abcdef"
    box.mkdir()
    (layout.exchange_dir(course.course) / "inbound" / name).rename(box / name)
    (box / check.COPY).mkdir()
    [verdict] = check.run(course)
    assert verdict.accepted and verdict.name == name
    assert list(layout.staging_dir(course.course).iterdir()) == []


def test_each_student_drops_in_a_box_of_their_own(course):
    ann, ben = get_or_create_student("ann"), get_or_create_student("ben")
    good = submission(course, f"ann+ps1+{TS}+aaaa", ann.uid, box=ann)
    spoof = submission(course, f"ann+ps1+{TS}+bbbb", ben.uid, box=ben)
    planted = submission(course, f"ben+ps1+{TS}+cccc", ben.uid, box=ann)  # as root could, never ann

    reasons = {v.name: v.reason for v in check.run(course)}

    assert reasons == {good: "", spoof: "names ann but was submitted by ben",
                       planted: "names ben but was found in ann's drop box"}
    assert names(layout.exchange_dir(course.course) / "accepted") == {good}
    # The refused ones stay in their box (they count against its quota); the notes are the instructors'.
    boxes = inbound.boxes_dir(course.course)
    assert names(boxes / "ben" / "quarantine") == {spoof}
    assert names(boxes / "ann" / "quarantine") == {planted}
    assert names(boxes / "ann" / "inbound") == names(boxes / "ann" / "checking") == set()
    notes = layout.course_dir(course.course) / "quarantine"
    assert names(notes) == {f"{spoof}.why", f"{planted}.why"}
    assert "in ben's share" in (notes / f"{spoof}.why").read_text()
    modes = {name: oct(os.stat(boxes / "ann" / name).st_mode & 0o7777)
             for name in ("inbound", "checking", "quarantine")}
    assert modes == {"inbound": "0o3733", "checking": "0o700", "quarantine": "0o700"}
    assert oct(boxes.stat().st_mode & 0o777) == "0o700"


def test_accepted_copies_take_at_most_the_students_exchange_quota(course):
    """Each accepted submission leaves the box (and its quota): what the copies take is bounded too."""
    course.exchange_quota = "30k"  # 30720 bytes; each submission below is 9000 bytes and more
    course.save()
    ann, ben = get_or_create_student("ann"), get_or_create_student("ben")
    files = {"timestamp.txt": TS, "ps1.ipynb": "x" * 9000}
    sent = [submission(course, f"ann+ps1+{TS}+{n:04}", ann.uid, files=files, box=ann) for n in range(4)]
    other = submission(course, f"ben+ps1+{TS}+0000", ben.uid, files=files, box=ben)

    verdicts = {v.name: v for v in check.run(course)}

    assert [verdicts[name].accepted for name in sent] == [True, True, True, False]
    assert "over their exchange quota" in verdicts[sent[3]].reason
    assert verdicts[other].accepted  # another student's share is their own
    accepted = os.open(layout.exchange_dir(course.course) / "accepted", os.O_RDONLY)
    try:
        assert 27000 <= check.accepted_bytes(accepted, "ann") < 30720
    finally:
        os.close(accepted)


def test_refused_submissions_past_the_cap_are_removed(course, monkeypatch):
    monkeypatch.setattr(check, "MAX_QUARANTINED", 2)
    get_or_create_student("ann")  # whom the spoofs name
    ben = get_or_create_student("ben")
    spoofs = [submission(course, f"ann+ps1+{TS}+{n:04}", ben.uid, box=ben) for n in range(3)]
    (inbound.boxes_dir(course.course) / "ben" / "inbound" / "zz-not-a-folder").write_text("")
    reasons = [v.reason for v in check.run(course)]
    assert "removed: 2 refused submissions of ben are kept already" in reasons[2]
    assert reasons[3] == "not a folder (removed: 2 refused submissions of ben are kept already)"
    assert names(inbound.boxes_dir(course.course) / "ben" / "quarantine") == set(spoofs[:2])
    assert len(list((layout.course_dir(course.course) / "quarantine").iterdir())) == 2
    assert names(inbound.boxes_dir(course.course) / "ben" / "inbound") == set()
