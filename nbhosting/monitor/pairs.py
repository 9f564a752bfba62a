"""Finding a student's container from the names an admin types, and stopping it for staff."""
from django.core.management.base import CommandError

from nbhosting.containers.backend import BackendError
from nbhosting.containers.models import Container
from nbhosting.containers.podman import backend
from nbhosting.monitor import actions
from nbhosting.names import InvalidName, validate_course, validate_identity


def find_record(course: str, student: str) -> Container:
    try:
        validate_course(course)
        validate_identity(student)  # a student, or the platform's own (_instructors-<course>, _staff-<user>)
    except InvalidName as exc:
        raise CommandError(str(exc)) from None
    record = (Container.objects.select_related("course", "student")
              .filter(course__name=course, student__name=student).first())
    if record is None:
        raise CommandError(f"student {student} has no server in course {course}")
    return record


def stop_for_staff(record: Container, why: str) -> actions.Stop:
    """Stops the pair's server (SIGTERM, then a kill after the grace period), or says why not.
    A server that is not running (stopped, or its container removed) is no error."""
    try:
        outcome = actions.stop(record, backend(), why, wait=30)
    except BackendError as exc:
        raise CommandError(str(exc)) from None
    if outcome is actions.Stop.BUSY:
        raise CommandError(f"{record.name} is busy starting or stopping; try again in a moment")
    return outcome
