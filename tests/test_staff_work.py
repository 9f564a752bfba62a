"""Unit tests: staff work is cleared under staff identities only, never a student's."""
import pytest

from nbhosting.dashboard import staff_work
from nbhosting.workspaces import workspace
from nbhosting.workspaces.models import get_or_create_student
from tests.dashboard_fixtures import make_course

pytestmark = pytest.mark.django_db


def test_clear_refuses_a_student_whatever_the_caller(site):
    site.NBH_UID_MIN, site.NBH_UID_MAX = 5000, 5009
    course = make_course("physics")
    student = get_or_create_student("alice")
    path = workspace.ensure(course, student)
    (path / "work.txt").write_text("mine")
    with pytest.raises(ValueError, match="not a staff identity"):
        staff_work.clear(course, student, reason="test", wait=0)  # refused before any engine call
    assert (path / "work.txt").read_text() == "mine"
    assert staff_work.identities(course) == []
    staff = staff_work.identity("alice")
    assert staff.name == "_staff-alice" and staff.uid != student.uid
    workspace.ensure(course, staff)
    assert staff_work.identities(course) == [staff]
