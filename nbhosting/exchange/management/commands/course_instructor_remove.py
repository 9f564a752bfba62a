from django.core.management.base import CommandError

from nbhosting.cli import NbhCommand
from nbhosting.containers.backend import BackendError
from nbhosting.exchange.admin_ops import revoke_instructors_server
from nbhosting.exchange.management.commands._course import get_course
from nbhosting.exchange.models import NbgraderCourse


class Command(NbhCommand):
    help = "Remove an instructor from a course; the instructors' server moves to a new secret URL."

    def add_arguments(self, parser):
        parser.add_argument("course")
        parser.add_argument("username")

    def handle(self, course, username, **options):
        course = get_course(course)
        nbgrader = NbgraderCourse.objects.filter(course=course).first()
        user = nbgrader and nbgrader.instructors.filter(username=username).first()
        if not user:
            raise CommandError(f"{username} is not an instructor of {course.name}")
        nbgrader.instructors.remove(user)
        try:
            revoke_instructors_server(course)
        except BackendError as exc:
            raise CommandError(f"{username} removed, but the instructors' server could not be stopped: {exc}") from None
        self.stdout.write(f"{username} is no longer an instructor of {course.name}")
