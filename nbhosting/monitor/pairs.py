"""Finding a student's container from the names an admin types."""
from django.core.management.base import CommandError

from nbhosting.containers.models import Container
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
