from django.core.management.base import CommandError

from nbhosting.cli import NbhCommand, find_pair
from nbhosting.containers import lifecycle


class Command(NbhCommand):
    help = "Stop a student's server (SIGTERM, then a kill after the grace period); files stay."

    def add_arguments(self, parser):
        parser.add_argument("course")
        parser.add_argument("student", help="a student id, or _instructors-<course> for the grading server")

    def handle(self, course: str, student: str, **options):
        record = find_pair(course, student)
        outcome = lifecycle.stop(record, "stopped by staff (nbh container-stop)", wait=lifecycle.STAFF_WAIT)
        if outcome is lifecycle.Stop.BUSY:
            raise CommandError(f"{record.name} is busy starting or stopping; try again in a moment")
        if outcome is lifecycle.Stop.NOT_RUNNING:
            self.stdout.write(f"{record.name} is not running: nothing to stop")
        else:
            self.stdout.write(f"stopped {record.name}")
