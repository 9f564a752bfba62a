import secrets

from django.contrib.auth.models import User
from django.core.management.base import CommandError
from django.db import transaction

from nbhosting.accounts.passwords import read_password_file
from nbhosting.cli import NbhCommand, find_course
from nbhosting.courses.models import Course


class Command(NbhCommand):
    help = "Create (or update) a staff account for the dashboard; optionally make it staff of courses."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--admin", action="store_true", help="a site admin: sees and manages every course")
        parser.add_argument("--password-file",
                            help="read the password from this file (default: a new random one, printed)")
        parser.add_argument("--course", action="append", default=[], help="add the user to this course's staff")
        parser.add_argument("--email", default="")

    def handle(self, username, **options):
        if not User.username_validator.regex.match(username) or len(username) > 150:
            raise CommandError(f"invalid username {username!r}: letters, digits and @.+-_ only")
        courses = [self._course(name) for name in options["course"]]
        exists = User.objects.filter(username=username).exists()
        # An existing account keeps its password unless a new one is given.
        password, generated = (None, False) if exists and not options["password_file"] \
            else self._password(options["password_file"])
        with transaction.atomic():
            user, created = User.objects.get_or_create(username=username)
            user.is_staff = user.is_staff or options["admin"]
            user.email = options["email"] or user.email
            if password is not None:
                user.set_password(password)
            user.save()
            for course in courses:
                usernames, _ = course.staff_entries()
                if username not in usernames:
                    course.staff = " ".join([*course.staff.replace(",", " ").split(), username])
                    course.save(update_fields=["staff"])
        role = "site admin" if user.is_staff else "course staff"
        self.stdout.write(f"{'created' if created else 'updated'} {role} {username}"
                          + (f", staff of {', '.join(c.name for c in courses)}" if courses else ""))
        if generated:
            self.stdout.write(f"password: {password}")

    def _course(self, name: str) -> Course:
        course = find_course(name)
        return course

    def _password(self, path: str | None) -> tuple[str | None, bool]:
        if path is None:
            return secrets.token_urlsafe(12), True
        return read_password_file(path), False
