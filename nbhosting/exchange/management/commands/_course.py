"""Shared by the nbgrader commands: the course named on the command line, or one clear error."""
from django.core.management.base import CommandError

from nbhosting.cli import find_course
from nbhosting.courses.models import Course
from nbhosting.exchange.models import NbgraderCourse


def get_course(name: str) -> Course:
    return find_course(name)


def get_nbgrader(name: str) -> NbgraderCourse:
    course = get_course(name)
    nbgrader = NbgraderCourse.objects.filter(course=course, enabled=True).first()
    if nbgrader is None:
        raise CommandError(f"nbgrader is off for {name}; turn it on with: nbh course-nbgrader {name} on")
    return nbgrader
