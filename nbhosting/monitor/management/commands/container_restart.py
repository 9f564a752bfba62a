from django.core.management.base import CommandError

from nbhosting.cli import NbhCommand
from nbhosting.containers.backend import BackendError
from nbhosting.containers.lease import LeaseTimeout
from nbhosting.containers.spawn import SpawnError, ensure_running
from nbhosting.monitor.pairs import find_record, stop_for_staff


class Command(NbhCommand):
    help = ("Restart a student's server: stop it if it runs, then start it again (on the course's "
            "current image); a removed container is created again.")

    def add_arguments(self, parser):
        parser.add_argument("course")
        parser.add_argument("student", help="a student id, or _instructors-<course> for the grading server")

    def handle(self, course: str, student: str, **options):
        record = find_record(course, student)
        stop_for_staff(record, "restarted by staff (nbh container-restart)")
        try:
            ready = ensure_running(record.course, record.student)
        except (BackendError, SpawnError, LeaseTimeout) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"restarted {record.name} in {ready.seconds:.1f}s")
