from django.core.management.base import CommandError

from nbhosting.cli import NbhCommand
from nbhosting.courses.models import Course
from nbhosting.sizes import format_size
from nbhosting.workspaces import quota


class Command(NbhCommand):
    help = "Set each course's current quota on its existing workspaces (after NBH_QUOTA changed)."

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", metavar="COURSE", help="default: every course")

    def handle(self, names, **options):
        courses = list(Course.objects.filter(name__in=names) if names else Course.objects.all())
        unknown = set(names) - {c.name for c in courses}
        if unknown:
            raise CommandError(f"no course named {', '.join(sorted(unknown))}")
        for course in sorted(courses, key=lambda c: c.name):
            try:
                applied, plain = quota.apply(course)
            except quota.QuotaError as exc:
                raise CommandError(f"{course.name}: {exc}") from None
            self.stdout.write(f"{course.name}: quota {format_size(course.quota_bytes)} on {applied} workspace(s)"
                              + (f"; {len(plain)} plain folder(s) stay unlimited" if plain else ""))
