from nbhosting.cli import NbhCommand
from nbhosting.stats.models import rebuild_daily


class Command(NbhCommand):
    help = "Recompute the daily activity rollup from the open events (after an import, or a time zone change)."

    def add_arguments(self, parser):
        parser.add_argument("--course", help="only this course")

    def handle(self, course, **options):
        self.stdout.write(f"{rebuild_daily(course)} student-days")
