"""Unit tests: a student's workspace folder is made once, owned by the student, under any race."""
import os
import stat

import pytest

from nbhosting.courses.models import Course
from nbhosting.workspaces import workspace
from nbhosting.workspaces.models import get_or_create_student

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(settings, tmp_path):
    settings.DATA_ROOT = tmp_path
    settings.NBH_UID_MIN, settings.NBH_UID_MAX = 5000, 5009
    course = Course.objects.create(name="c1", git_url="/nowhere")
    return course, get_or_create_student("s1")


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
    path.rmdir()
    path.symlink_to(tmp_path)
    with pytest.raises(workspace.WorkspaceError):
        workspace.ensure(course, student)
    assert tmp_path.lstat().st_uid == 0
