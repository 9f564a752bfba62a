"""Finding a student's container from the names an admin types, and stopping it for staff."""
from django.core.management.base import CommandError

from nbhosting.containers.backend import BackendError
from nbhosting.containers.models import Container
from nbhosting.containers.podman import backend
from nbhosting.monitor import actions
from nbhosting.names import InvalidName, validate_course, validate_student


def find_record(course: str, student: str) -> Container:
    try:
        validate_course(course)
        validate_student(student)
    except InvalidName as exc:
        raise CommandError(str(exc)) from None
    record = (Container.objects.select_related("course", "student")
              .filter(course__name=course, student__name=student).first())
    if record is None:
        raise CommandError(f"student {student} has no server in course {course}")
    return record


def stop_for_staff(course: str, student: str, why: str) -> Container:
    """Stops the pair's server (SIGTERM, then a kill after the grace period), or says why not."""
    record = find_record(course, student)
    try:
        if not actions.stop(record, backend(), why, wait=30):
            raise CommandError(f"{record.name} is busy starting; try again in a moment")
    except BackendError as exc:
        raise CommandError(str(exc)) from None
    return record
