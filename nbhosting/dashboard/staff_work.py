"""Staff members' own workspaces in a course: "open my workspace" and "clear staff work".

A staff member works as the identity `_staff-<username>`, outside the student grammar: no LMS
student id can take it, a dashboard account named like a student does not get that student's
workspace, and whatever a course's staff list holds, clearing touches these identities only.
"""
from nbhosting.containers import lifecycle
from nbhosting.containers.models import Container
from nbhosting.courses.models import Course
from nbhosting.names import STAFF_PREFIX, staff_identity
from nbhosting.workspaces import workspace
from nbhosting.workspaces.models import Student, get_or_create_account


def identity(username: str) -> Student:
    """The staff member's own identity, with its uid; InvalidName for a username that cannot name one."""
    return get_or_create_account(staff_identity(username))


def username_of(student: Student) -> str:
    return student.name.removeprefix(STAFF_PREFIX)


def identities(course: Course) -> list[Student]:
    """The staff identities that have a container or a workspace in this course."""
    staff = Student.objects.filter(name__startswith=STAFF_PREFIX).order_by("name")
    with_container = set(Container.objects.filter(course=course, student__in=staff).values_list("student", flat=True))
    return [s for s in staff if s.pk in with_container or workspace.workspace_dir(course, s).exists()]


def clear(course: Course, student: Student, reason: str, wait: float) -> bool:
    """Removes the staff identity's container and workspace (lifecycle.wipe, under the pair's
    lease). Returns whether there was a workspace to delete."""
    if not student.name.startswith(STAFF_PREFIX):
        raise ValueError(f"{student.name} is not a staff identity")  # never a student's work
    return lifecycle.wipe(lifecycle.get_record(course, student), reason, wait=wait)
