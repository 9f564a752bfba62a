from django.core.management.base import CommandError

from nbhosting.cli import NbhCommand
from nbhosting.courses import repo
from nbhosting.courses.models import Course
from nbhosting.exchange import sources


class Command(NbhCommand):
    help = "Pull a course's git repository."

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, name, **options):
        course = Course.objects.filter(name=name).first()
        if course is None:
            raise CommandError(f"no course named {name}")
        try:
            commit = sources.pull(course)
        except repo.RepoError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"course {name} at {commit[:12]}")
