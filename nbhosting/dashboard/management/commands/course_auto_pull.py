import time

from django.core.management.base import CommandError

from nbhosting.cli import NbhCommand
from nbhosting.courses.models import Course
from nbhosting.dashboard import jobs
from nbhosting.dashboard.models import Job

AUTOPULL_USER = "autopull"


class Command(NbhCommand):
    help = ("Pull the courses that have autopull set, and rebuild their image when their "
            "Containerfile changed and autobuild is set. Each pull is a job, with its log in the dashboard.")

    def add_arguments(self, parser):
        parser.add_argument("courses", nargs="*", help="only these courses (they must have autopull set)")
        parser.add_argument("--all", action="store_true", help="every course with autopull set")
        parser.add_argument("--every", type=int, metavar="SECONDS",
                            help="keep running, one round every SECONDS (where no systemd timer runs)")

    def handle(self, courses, **options):
        if not courses and not options["all"]:
            raise CommandError("name some courses, or give --all")
        while True:
            failures = self.round(courses)
            if not options["every"]:
                break
            time.sleep(options["every"])
        if failures:
            raise CommandError(f"{failures} course(s) failed to pull")

    def round(self, names: list[str]) -> int:
        selected = Course.objects.filter(autopull=True, archived=False).order_by("name")
        if names:
            selected = selected.filter(name__in=names)
        failures = 0
        for course in selected:
            try:
                job = jobs.create(course, Job.Kind.PULL, AUTOPULL_USER)
            except jobs.JobBusy as exc:
                self.stdout.write(f"{course.name}: skipped, {exc}")
                continue
            job = jobs.run(job)
            failures += job.state == Job.State.FAILED
            self.stdout.write(f"{course.name}: {job.state}, {job.summary}")
        return failures
