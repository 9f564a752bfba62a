import secrets

from django.conf import settings
from django.core.management.base import CommandError
from django.urls import reverse

from nbhosting.accounts.models import EnrollmentKey
from nbhosting.classroom.models import Classroom, mode_of
from nbhosting.cli import NbhCommand, find_course
from nbhosting.courses.models import Course
from nbhosting.names import SEGMENT_RE


class Command(NbhCommand):
    help = ("A course's classroom pages: how they open notebooks (git: a clone, merged on open; copy: "
            "one copy per notebook), and the enrollment key for self sign-up. Without options, shows them.")

    def add_arguments(self, parser):
        parser.add_argument("course")
        parser.add_argument("--mode", choices=[m.value for m in Classroom.Mode])
        key = parser.add_mutually_exclusive_group()
        key.add_argument("--enrollment-key", help="students who give this key may sign up")
        key.add_argument("--random-key", action="store_true", help="a new random enrollment key")
        key.add_argument("--no-key", action="store_true", help="no self sign-up")
        parser.add_argument("--signup-group", help="the group of students who sign up with the key")

    def handle(self, course, **options):
        found = find_course(course)
        group = options["signup_group"]
        if group and (len(group) > 64 or not SEGMENT_RE.fullmatch(group)):
            raise CommandError(f"invalid group {group!r}: up to 64 characters, no control characters or slashes")
        given = options["enrollment_key"]
        if given is not None and not 8 <= len(given) <= 128:
            raise CommandError("an enrollment key needs 8 to 128 characters")
        if options["mode"]:
            Classroom.objects.update_or_create(course=found, defaults={"mode": options["mode"]})
        if options["no_key"]:
            EnrollmentKey.objects.filter(course=found).delete()
        elif given or options["random_key"]:
            EnrollmentKey.objects.update_or_create(course=found, defaults={
                "key": given or secrets.token_urlsafe(9), **({"group": group} if group is not None else {})})
        elif group is not None:
            if not EnrollmentKey.objects.filter(course=found).update(group=group):
                raise CommandError(f"{course} has no enrollment key; give one with --enrollment-key or --random-key")
        self.stdout.write(self._describe(found))

    def _describe(self, course: Course) -> str:
        base = settings.NBH_BASE_URL.rstrip("/")
        page = base + reverse("classroom:course", args=[course.name])
        text = f"{course.name}: mode {mode_of(course)}; course page {page}"
        key = EnrollmentKey.objects.filter(course=course).first()
        if key is None:
            return text + "; no self sign-up"
        return (text + f"; sign-up at {base}{reverse('accounts:signup', args=[course.name])} with the key {key.key}"
                + (f" (group {key.group})" if key.group else ""))
