import csv

from django.core.management.base import CommandError

from nbhosting.cli import NbhCommand
from nbhosting.exchange.gradebook import GradebookError, grades, sync_roster
from nbhosting.exchange.management.commands._course import get_nbgrader
from nbhosting.lti import roster
from nbhosting.lti.grades import push

COLUMNS = ("student", "first_name", "last_name", "email", "assignment", "score", "max_score")


class Command(NbhCommand):
    help = "Scores per student and assignment, from a course's nbgrader gradebook."

    def add_arguments(self, parser):
        parser.add_argument("course")
        parser.add_argument("--csv", action="store_true", help="CSV on stdout (no submission: empty score)")
        parser.add_argument("--push", action="store_true",
                            help="also send the scores that changed to the LMSs the course was launched from (LTI)")
        parser.add_argument("--all", action="store_true", help="with --push: send every score, changed or not")
        parser.add_argument("--quiet", action="store_true", help="with --push: print only what was sent")

    def handle(self, course, **options):
        nbgrader = get_nbgrader(course)
        try:
            if options["push"]:  # names and emails from the LMS rosters first (LTI NRPS)
                for error in roster.sync(nbgrader.course)[1]:
                    self.stderr.write(f"{course}: {error}")
            sync_roster(nbgrader)  # every student who opened the course has a row, submitted or not
            rows = grades(nbgrader.course)
        except GradebookError as exc:
            raise CommandError(str(exc)) from None
        if not options["quiet"]:
            self.show(rows, options["csv"])
        if options["push"]:
            self.push(nbgrader.course, rows, only_changed=not options["all"])

    def show(self, rows: list[dict], as_csv: bool) -> None:
        if as_csv:
            writer = csv.DictWriter(self.stdout, fieldnames=COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows({**row, "score": "" if row["score"] is None else row["score"]} for row in rows)
            return
        line = "{student:<24} {assignment:<16} {score:>8} {max_score:>8}"
        self.stdout.write(line.format(student="STUDENT", assignment="ASSIGNMENT", score="SCORE", max_score="MAX"))
        for row in rows:
            score = "-" if row["score"] is None else f"{row['score']:g}"
            self.stdout.write(line.format(**{**row, "score": score, "max_score": f"{row['max_score']:g}"}))

    def push(self, course, rows, only_changed: bool) -> None:
        """A failed score is reported and does not stop the others (nor grading)."""
        report = push(course, rows, only_changed=only_changed)
        self.stderr.write(f"{course.name}: {report.sent} scores sent to the LMS, {report.unchanged} unchanged, "
                          f"{len(report.failed)} failed")
        for failure in report.failed:
            self.stderr.write(f"{course.name}: NOT SENT {failure}")
        if report.failed:
            raise CommandError(f"{len(report.failed)} scores of {course.name} could not be sent to the LMS")
