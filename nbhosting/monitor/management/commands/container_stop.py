from django.core.management.base import CommandError

from nbhosting.cli import NbhCommand
from nbhosting.containers.backend import BackendError
from nbhosting.containers.podman import backend
from nbhosting.monitor import actions
from nbhosting.monitor.pairs import find_record


class Command(NbhCommand):
    help = "Stop a student's server (SIGTERM, then a kill after the grace period); files stay."

    def add_arguments(self, parser):
        parser.add_argument("course")
        parser.add_argument("student")

    def handle(self, course: str, student: str, **options):
        record = find_record(course, student)
        try:
            if not actions.stop(record, backend(), "stopped by staff (nbh container-stop)", wait=30):
                raise CommandError(f"{record.name} is busy starting; try again in a moment")
        except BackendError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"stopped {record.name}")
