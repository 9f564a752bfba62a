"""Unit tests: a student's workspace folder is made once, owned by the student, under any race; on
a filesystem with quotas it is a quota unit of its own, limited before the student owns it."""
import os
import secrets
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from nbhosting.courses.models import Course
from nbhosting.workspaces import quota, workspace
from nbhosting.workspaces.models import get_or_create_student
from tests.stack import quota_fs

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def btrfs_root():
    """A data root whose workspaces are on a loop-mounted btrfs with quotas, made by install.sh's
    own function."""
    data = Path(tempfile.mkdtemp(prefix="nbh-test-quota-", dir="/var/tmp"))
    data.chmod(0o711)  # as install.sh leaves it
    quota_fs(data, "ensure_disk_quotas")
    yield data
    quota_fs(data, "release_disk_quotas")
    shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(params=["plain", "btrfs"])
def pair(request, settings, tmp_path):
    settings.DATA_ROOT = request.getfixturevalue("btrfs_root") if request.param == "btrfs" else tmp_path
    settings.NBH_UID_MIN, settings.NBH_UID_MAX = 5000, 5009
    # The btrfs root is shared by the module's tests: each gets a course of its own.
    course = Course.objects.create(name=f"c{secrets.token_hex(4)}", git_url="/nowhere", quota="20m")
    return course, get_or_create_student("s1")


@pytest.fixture
def btrfs_pair(settings, btrfs_root):
    settings.DATA_ROOT = btrfs_root
    settings.NBH_UID_MIN, settings.NBH_UID_MAX = 5000, 5009
    course = Course.objects.create(name=f"c{secrets.token_hex(4)}", git_url="/nowhere", quota="20m")
    assert quota.driver().name == "btrfs"
    return course, get_or_create_student("s1")


def limit_of(path: Path) -> int | None:
    usage = quota.driver().usage([path]).get(path)
    return usage.limit if usage else None


def test_first_call_makes_a_private_folder_owned_by_the_student(pair):
    course, student = pair
    path = workspace.ensure(course, student)
    info = path.lstat()
    assert (info.st_uid, info.st_gid) == (student.uid, student.gid)
    assert stat.S_IMODE(info.st_mode) == 0o700
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o711


def test_folder_made_by_a_concurrent_open_is_taken_over(pair):
    """The window between another worker's mkdir and its chown: the folder is still root's."""
    course, student = pair
    workspace.ensure(course, student)
    path = workspace.workspace_dir(course, student)
    os.chown(path, 0, 0)
    assert workspace.ensure(course, student) == path
    assert path.lstat().st_uid == student.uid


def test_someone_elses_folder_or_a_symlink_is_refused(pair, tmp_path):
    course, student = pair
    path = workspace.ensure(course, student)
    os.chown(path, student.uid + 1, student.gid)
    with pytest.raises(workspace.WorkspaceError, match="not a folder owned by"):
        workspace.ensure(course, student)
    shutil.rmtree(path)
    path.symlink_to(tmp_path)
    with pytest.raises(workspace.WorkspaceError):
        workspace.ensure(course, student)
    assert tmp_path.lstat().st_uid == 0


def test_on_btrfs_a_workspace_is_a_subvolume_limited_before_the_student_owns_it(btrfs_pair):
    course, student = btrfs_pair
    path = workspace.workspace_dir(course, student)
    # As a concurrent open leaves it: made, still root's, not limited yet.
    path.parent.mkdir(parents=True)
    quota.driver().create(path)
    assert quota.btrfs_subvolume_id(path) is not None and limit_of(path) is None
    workspace.ensure(course, student)
    assert limit_of(path) == 20 << 20 and path.lstat().st_uid == student.uid
    course.quota = "30m"
    course.save()
    assert quota.apply(course) == (1, [])
    assert limit_of(path) == 30 << 20


def test_a_plain_folder_made_before_quotas_keeps_working_unlimited(btrfs_pair):
    course, student = btrfs_pair
    path = workspace.workspace_dir(course, student)
    path.mkdir(parents=True, mode=0o700)
    os.chown(path, student.uid, student.gid)
    assert workspace.ensure(course, student) == path
    assert quota.btrfs_subvolume_id(path) is None
    assert quota.apply(course) == (0, [student.name])
    assert quota.usage(course) == {}


def test_usage_counts_what_the_student_wrote(btrfs_pair):
    course, student = btrfs_pair
    path = workspace.ensure(course, student)
    subprocess.run(["dd", "if=/dev/urandom", f"of={path}/data", "bs=1M", "count=3"], check=True,
                   capture_output=True, user=student.uid, group=student.gid)
    subprocess.run(["sync", "-f", str(path)], check=True)
    usage = quota.usage(course)[student.name]
    assert 3 << 20 <= usage.used < 4 << 20 and usage.limit == 20 << 20


def test_nothing_is_made_while_the_quota_filesystem_is_not_mounted(pair):
    course, student = pair
    root = quota.workspaces_root()
    root.mkdir(parents=True, exist_ok=True)
    (root / quota.UNMOUNTED_MARK).touch()
    try:
        with pytest.raises(workspace.WorkspaceError, match="not mounted"):
            workspace.ensure(course, student)
        assert not course.workspaces_dir.exists()
    finally:
        (root / quota.UNMOUNTED_MARK).unlink()


def test_remove_deletes_only_the_workspace_through_its_own_links(pair, tmp_path):
    """Emptied as the student's uid: a link in it to a folder elsewhere, or a read-only folder of
    its own, changes nothing outside it."""
    course, student = pair
    path = workspace.ensure(course, student)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("not the workspace's")
    (path / "link").symlink_to(elsewhere)
    (path / "file-link").symlink_to(elsewhere / "keep.txt")
    locked = path / "locked"
    (locked / "inner").mkdir(parents=True)
    (locked / "inner" / "f.txt").write_text("x")
    for folder in (locked / "inner", locked, path / "file-link"):
        os.chown(folder, student.uid, student.gid, follow_symlinks=False)
    (locked / "inner" / "f.txt").chmod(0o444)
    os.chown(locked / "inner" / "f.txt", student.uid, student.gid)
    (locked / "inner").chmod(0o555)
    locked.chmod(0o555)
    assert workspace.remove(course, student) is True
    assert not os.path.lexists(path)
    assert (elsewhere / "keep.txt").read_text() == "not the workspace's"
    assert workspace.remove(course, student) is False
