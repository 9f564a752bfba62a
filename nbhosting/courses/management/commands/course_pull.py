from django.core.management.base import CommandError

from nbhosting.cli import NbhCommand, find_course
from nbhosting.courses import repo
from nbhosting.exchange import sources


class Command(NbhCommand):
    help = "Pull a course's git repository."

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, name, **options):
        course = find_course(name)
        try:
            commit = sources.pull(course)
        except repo.RepoError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"course {name} at {commit[:12]}")
