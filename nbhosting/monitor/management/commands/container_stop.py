from nbhosting.cli import NbhCommand
from nbhosting.monitor.actions import Stop
from nbhosting.monitor.pairs import find_record, stop_for_staff


class Command(NbhCommand):
    help = "Stop a student's server (SIGTERM, then a kill after the grace period); files stay."

    def add_arguments(self, parser):
        parser.add_argument("course")
        parser.add_argument("student", help="a student id, or _instructors-<course> for the grading server")

    def handle(self, course: str, student: str, **options):
        record = find_record(course, student)
        if stop_for_staff(record, "stopped by staff (nbh container-stop)") is Stop.NOT_RUNNING:
            self.stdout.write(f"{record.name} is not running: nothing to stop")
        else:
            self.stdout.write(f"stopped {record.name}")
