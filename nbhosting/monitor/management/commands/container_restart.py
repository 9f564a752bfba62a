from django.core.management.base import CommandError

from nbhosting.cli import NbhCommand, find_pair
from nbhosting.containers import lifecycle


class Command(NbhCommand):
    help = ("Restart a student's server: stop it if it runs, then start it again (on the course's "
            "current image); a removed container is created again.")

    def add_arguments(self, parser):
        parser.add_argument("course")
        parser.add_argument("student", help="a student id, or _instructors-<course> for the grading server")

    def handle(self, course: str, student: str, **options):
        record = find_pair(course, student)
        try:
            ready = lifecycle.restart(record, "restarted by staff (nbh container-restart)")
        except (lifecycle.SpawnError, lifecycle.LeaseTimeout) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"restarted {record.name} in {ready.seconds:.1f}s")
