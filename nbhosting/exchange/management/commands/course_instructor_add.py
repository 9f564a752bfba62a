from django.contrib.auth.models import User
from django.core.management.base import CommandError

from nbhosting.cli import NbhCommand
from nbhosting.exchange.management.commands._course import get_course
from nbhosting.exchange.models import NbgraderCourse


class Command(NbhCommand):
    help = "Make a user an instructor (or TA) of a course: they may open /instructor/<course>/."

    def add_arguments(self, parser):
        parser.add_argument("course")
        parser.add_argument("username")
        parser.add_argument("--create", action="store_true",
                            help="create the user if needed (then set a password: nbh changepassword USER)")

    def handle(self, course, username, create, **options):
        course = get_course(course)
        user = User.objects.filter(username=username).first()
        if user is None and not create:
            raise CommandError(f"no user named {username}; add --create to create one")
        if user is None:
            user = User(username=username)
            user.set_unusable_password()
            user.full_clean(exclude=["password"])
            user.save()
            self.stdout.write(f"user {username} created; set a password with: nbh changepassword {username}")
        nbgrader, _ = NbgraderCourse.objects.get_or_create(course=course)
        nbgrader.instructors.add(user)
        self.stdout.write(f"{username} is an instructor of {course.name}")
