import time

from django.core.management.base import CommandError

from nbhosting.cli import NbhCommand
from nbhosting.exchange import check
from nbhosting.exchange.management.commands._course import get_nbgrader
from nbhosting.exchange.models import NbgraderCourse
from nbhosting.lti import autopush


class Command(NbhCommand):
    help = ("Move complete, genuine submissions from the students' drop box to what the instructors "
            "collect; quarantine spoofed, oversize or odd ones, and report them.")

    def add_arguments(self, parser):
        parser.add_argument("courses", nargs="*", help="default: every course with nbgrader on")
        parser.add_argument("--every", type=float, metavar="SECONDS", help="keep checking, this often")

    def handle(self, courses, every, **options):
        while True:
            targets = [get_nbgrader(name) for name in courses] or list(
                NbgraderCourse.objects.filter(enabled=True).select_related("course"))
            for nbgrader in targets:
                try:
                    self.report(nbgrader)
                except CommandError as exc:
                    if not every:
                        raise
                    self.stderr.write(str(exc))  # the loop goes on for the other courses
                if every:  # scores of a new autograde go to the LMS, in a process of their own
                    autopush.after_grading(nbgrader.course)
            if not every:
                return
            time.sleep(every)

    def report(self, nbgrader: NbgraderCourse) -> None:
        try:
            verdicts = check.run(nbgrader)
        except OSError as exc:
            raise CommandError(f"{nbgrader.course.name}: exchange check failed: {exc}") from None
        for verdict in verdicts:
            if verdict.accepted:
                self.stdout.write(f"{nbgrader.course.name}: accepted {verdict.name}")
            else:
                self.stdout.write(f"{nbgrader.course.name}: QUARANTINED {verdict.name}: it {verdict.reason}")
