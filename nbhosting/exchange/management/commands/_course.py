"""Shared by the nbgrader commands: the course named on the command line, or one clear error."""
from django.core.management.base import CommandError

from nbhosting.courses.models import Course
from nbhosting.exchange.models import NbgraderCourse


def get_course(name: str) -> Course:
    course = Course.objects.filter(name=name).first()
    if course is None:
        raise CommandError(f"no course named {name}")
    return course


def get_nbgrader(name: str) -> NbgraderCourse:
    course = get_course(name)
    nbgrader = NbgraderCourse.objects.filter(course=course, enabled=True).first()
    if nbgrader is None:
        raise CommandError(f"nbgrader is off for {name}; turn it on with: nbh course-nbgrader {name} on")
    return nbgrader
