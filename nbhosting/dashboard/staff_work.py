"""Staff members' own workspaces in a course: "open my workspace" and "clear staff work".

A staff member works as the identity `_staff-<username>`, outside the student grammar: no LMS
student id can take it, a dashboard account named like a student does not get that student's
workspace, and whatever a course's staff list holds, clearing touches these identities only.
"""
import shutil

from django.conf import settings

from nbhosting.containers.backend import Backend
from nbhosting.containers.lease import lease
from nbhosting.containers.models import Container
from nbhosting.containers.spawn import get_record
from nbhosting.courses.models import Course
from nbhosting.monitor import actions
from nbhosting.monitor.models import Cull
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


def clear(course: Course, student: Student, backend: Backend, reason: str, wait: float) -> bool:
    """Stops and removes the container, then deletes the workspace, all under the pair's lease so
    that no start can run in between. Returns whether there was a workspace to delete."""
    if not student.name.startswith(STAFF_PREFIX):
        raise ValueError(f"{student.name} is not a staff identity")  # never a student's work
    record = get_record(course, student)
    with lease(record, wait=wait):
        present = backend.status(record.name) is not None
        if present:
            backend.stop(record.name, settings.NBH_STOP_GRACE)
            backend.remove(record.name)
        shutil.rmtree(record.socket_dir, ignore_errors=True)
        Container.objects.filter(pk=record.pk).update(state=Container.State.ABSENT)
        removed = workspace.remove(course, student)
    if present:
        actions.cull(record, Cull.Action.REMOVED, reason)
    return removed
