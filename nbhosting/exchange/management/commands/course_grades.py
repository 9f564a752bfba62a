import csv

from django.core.management.base import CommandError

from nbhosting.cli import NbhCommand
from nbhosting.exchange.gradebook import GradebookError, grades, sync_roster
from nbhosting.exchange.management.commands._course import get_nbgrader

COLUMNS = ("student", "first_name", "last_name", "email", "assignment", "score", "max_score")


class Command(NbhCommand):
    help = "Scores per student and assignment, from a course's nbgrader gradebook."

    def add_arguments(self, parser):
        parser.add_argument("course")
        parser.add_argument("--csv", action="store_true", help="CSV on stdout (no submission: empty score)")

    def handle(self, course, **options):
        nbgrader = get_nbgrader(course)
        try:
            sync_roster(nbgrader)  # every student who opened the course has a row, submitted or not
            rows = grades(nbgrader.course)
        except GradebookError as exc:
            raise CommandError(str(exc)) from None
        if options["csv"]:
            writer = csv.DictWriter(self.stdout, fieldnames=COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows({**row, "score": "" if row["score"] is None else row["score"]} for row in rows)
            return
        line = "{student:<24} {assignment:<16} {score:>8} {max_score:>8}"
        self.stdout.write(line.format(student="STUDENT", assignment="ASSIGNMENT", score="SCORE", max_score="MAX"))
        for row in rows:
            score = "-" if row["score"] is None else f"{row['score']:g}"
            self.stdout.write(line.format(**{**row, "score": score, "max_score": f"{row['max_score']:g}"}))
