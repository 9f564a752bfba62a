from django.conf import settings
from django.core.management.base import CommandError
from django.utils import timezone

from nbhosting.cli import NbhCommand, find_course
from nbhosting.starts import prewarm
from nbhosting.starts.models import Prewarm
from nbhosting.starts.queue import STALE_AFTER


class Command(NbhCommand):
    help = ("Start named students' servers before a class, so that returning students find theirs "
            "running: a classroom group's, or those of a file of student ids (one a line). Now, "
            "through the start queue's bound, or at --at TIME (run by the monitor). Servers nobody "
            "opens are stopped when idle, like any other.")

    def add_arguments(self, parser):
        parser.add_argument("course", nargs="?")
        parser.add_argument("--group", help="the students of this classroom group")
        parser.add_argument("--students", metavar="FILE", help="a file of student ids, one a line")
        parser.add_argument("--at", metavar="TIME",
                            help="plan it: HH:MM (today, or tomorrow once passed) or an ISO date and time")
        parser.add_argument("--list", action="store_true", help="list plans to come, under way, or of the last day")
        parser.add_argument("--cancel", type=int, metavar="ID", help="cancel a plan (its queued starts too)")

    def handle(self, course: str | None, group: str | None, students: str | None, at: str | None,
               **options):
        try:
            if options["list"]:
                return self.list()
            if options["cancel"] is not None:
                cancelled = prewarm.cancel(options["cancel"])
                self.stdout.write(f"cancelled {describe(cancelled)}")
                return
            if course is None:
                raise CommandError("name a course (or use --list or --cancel ID)")
            found = find_course(course)
            who = prewarm.resolve(found, group, students)
            when = prewarm.parse_at(at) if at is not None else None
        except prewarm.PrewarmError as exc:
            raise CommandError(str(exc)) from None
        plan = prewarm.plan(found, who, when, group or "")
        if when is not None:
            self.stdout.write(f"planned {describe(plan)}; the monitor runs it when due")
            return
        self.run_now(plan)

    def run_now(self, plan: Prewarm) -> None:
        prewarm.launch(plan)
        self.stdout.write(f"queued {len(plan.students)} start(s) of {plan.course.name} "
                          f"(at most {settings.NBH_START_CONCURRENCY} at once)")
        done = prewarm.wait(plan, patience=2 * settings.NBH_SPAWN_TIMEOUT + STALE_AFTER.total_seconds())
        found = prewarm.outcomes(plan)
        for name, outcome in found.items():
            self.stdout.write(f"{name}: {outcome}")
        summary = f"{plan.course.name}: {prewarm.tally(found)}"
        if not done:
            raise CommandError(f"{summary}; the rest stay queued (are the site's gunicorn workers running?)")
        if any(outcome.startswith("failed") for outcome in found.values()):
            raise CommandError(summary)
        self.stdout.write(summary)

    def list(self) -> None:
        plans = prewarm.listed()
        if not plans:
            self.stdout.write("no prewarm plans")
        for plan in plans:
            self.stdout.write(describe(plan))


def describe(plan: Prewarm) -> str:
    at = timezone.localtime(plan.at).strftime("%Y-%m-%d %H:%M")
    who = f"{len(plan.students)} student(s)" + (f" of group {plan.group}" if plan.group else "")
    report = f": {plan.report}" if plan.report else ""
    return f"{plan.pk}  {plan.course.name}  {at}  {plan.state}  {who}{report}"
