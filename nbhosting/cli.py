"""The base of every `nbh` command: errors are one line on stderr and a non-zero exit, and the
lookups that many commands share (a course by its name, a pair by course and student) give one
clear error. A BackendError (the container engine failed) is one such line too, not a traceback."""
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from nbhosting.containers.backend import BackendError
from nbhosting.containers.models import Container
from nbhosting.courses.models import Course
from nbhosting.names import InvalidName, validate_course, validate_identity


class OneLineParser(CommandParser):
    def error(self, message: str) -> None:
        if not self.called_from_command_line:
            super().error(message)
        sys.stderr.write(f"{self.prog}: {message} (see --help)\n")
        sys.exit(2)


def find_course(name: str) -> Course:
    course = Course.objects.filter(name=name).first()
    if course is None:
        raise CommandError(f"no course named {name}")
    return course


def find_pair(course: str, student: str) -> Container:
    """The (course, student) pair's container record, from the names an admin types."""
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


class NbhCommand(BaseCommand):
    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        # Django builds a CommandParser and offers no hook for its class; ours only adds error().
        parser.__class__ = OneLineParser
        parser.prog = f"nbh {subcommand.replace('_', '-')}"
        return parser

    def execute(self, *args: Any, **options: Any) -> Any:
        try:
            return super().execute(*args, **options)
        except BackendError as exc:
            raise CommandError(f"the container engine failed: {exc}") from None
