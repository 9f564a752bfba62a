"""Root's copies and moves of trees that others control, on real folders (the tests run as root,
as the platform does): nothing planted in a tree leads root out of it."""
import os
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from nbhosting import trees

UID = 3_990_500


@pytest.fixture
def other_fs():
    """A folder on another filesystem (a private tmpfs), so that a move must copy."""
    path = Path(tempfile.mkdtemp(dir="/var/tmp", prefix="nbh-trees-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(path)], check=True)
    yield path
    subprocess.run(["umount", str(path)], check=True)
    path.rmdir()


def planted(base: Path) -> Path:
    """A student's folder holding what a hostile student plants."""
    top = base / "ann"
    (top / "w1").mkdir(parents=True)
    (top / "w1" / "nb.ipynb").write_text("{}")
    (top / "w1" / "run.sh").write_text("#!/bin/sh\n")
    (top / "w1" / "run.sh").chmod(0o4755)  # setuid: never kept
    (top / "etc").symlink_to("/etc")
    (top / "w1" / "shadow").symlink_to("/etc/shadow")
    os.mkfifo(top / "w1" / "pipe")
    os.link(top / "w1" / "nb.ipynb", top / "hard.ipynb")
    for path in [top, *top.rglob("*")]:
        os.lchown(path, UID, UID)
    return top


def test_a_move_across_filesystems_follows_nothing_and_keeps_owners(tmp_path, other_fs):
    top = planted(tmp_path)
    totals = trees.move(tmp_path, "ann", other_fs, "kept")
    kept = other_fs / "kept"
    assert not top.exists()
    assert sorted(str(p.relative_to(kept)) for p in kept.rglob("*")) == [
        "etc", "hard.ipynb", "w1", "w1/nb.ipynb", "w1/run.sh", "w1/shadow"]
    assert os.readlink(kept / "etc") == "/etc" and os.readlink(kept / "w1" / "shadow") == "/etc/shadow"
    assert (kept / "w1" / "nb.ipynb").read_text() == "{}"
    assert totals.skipped == ["w1/pipe"]
    assert {p.lstat().st_uid for p in [kept, *kept.rglob("*")]} == {UID}
    assert stat.S_IMODE((kept / "w1" / "run.sh").stat().st_mode) == 0o755


def test_a_move_on_one_filesystem_is_a_rename(tmp_path):
    top = planted(tmp_path)
    inode = top.stat().st_ino
    (tmp_path / "archive").mkdir()
    assert trees.move(tmp_path, "ann", tmp_path / "archive", "kept").skipped == []
    assert (tmp_path / "archive" / "kept").stat().st_ino == inode


def copy_strictly(src: Path, dst: Path, **rules) -> trees.Totals:
    dst.mkdir()
    src_fd, dst_fd = trees.open_dir(src), trees.open_dir(dst)
    try:
        return trees.copy(src_fd, dst_fd, trees.Rules(strict=True, only_uid=UID, **rules))
    finally:
        os.close(src_fd)
        os.close(dst_fd)


@pytest.mark.parametrize("plant, reason", [
    (lambda top: (top / "l").symlink_to("/etc/passwd"), "holds a symlink"),
    (lambda top: os.mkfifo(top / "f"), "holds a special file"),
    (lambda top: os.link(top / "a", top / "b"), "holds a hard link"),
    (lambda top: (top / "root-owned").write_text(""), "holds files of another user"),
])
def test_strict_copies_refuse_what_a_submission_never_holds(tmp_path, plant, reason):
    top = tmp_path / "sub"
    top.mkdir()
    (top / "a").write_text("x")
    os.chown(top / "a", UID, UID)
    plant(top)
    for path in top.iterdir():
        if path.name != "root-owned":
            os.lchown(path, UID, UID)
    with pytest.raises(trees.Refused, match=reason):
        copy_strictly(top, tmp_path / "copy")


def test_strict_copies_stop_at_the_size_limit_and_make_plain_modes(tmp_path):
    top = tmp_path / "sub"
    (top / "d").mkdir(parents=True)
    (top / "d" / "big").write_bytes(b"y" * 5000)
    (top / "d").chmod(0o777)
    for path in [top, *top.rglob("*")]:
        os.lchown(path, UID, UID)
    with pytest.raises(trees.TooLarge):
        copy_strictly(top, tmp_path / "small", limit_bytes=4000)
    totals = copy_strictly(top, tmp_path / "copy", limit_bytes=6000, owner=(UID + 1, UID + 1), plain_modes=True)
    assert totals.bytes == 5000
    copied = tmp_path / "copy" / "d"
    assert (stat.S_IMODE(copied.stat().st_mode), copied.stat().st_uid) == (0o755, UID + 1)
    assert (stat.S_IMODE((copied / "big").stat().st_mode), (copied / "big").stat().st_uid) == (0o644, UID + 1)
