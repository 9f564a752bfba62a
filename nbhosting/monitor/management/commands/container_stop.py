from nbhosting.cli import NbhCommand
from nbhosting.monitor.pairs import stop_for_staff


class Command(NbhCommand):
    help = "Stop a student's server (SIGTERM, then a kill after the grace period); files stay."

    def add_arguments(self, parser):
        parser.add_argument("course")
        parser.add_argument("student")

    def handle(self, course: str, student: str, **options):
        record = stop_for_staff(course, student, "stopped by staff (nbh container-stop)")
        self.stdout.write(f"stopped {record.name}")
