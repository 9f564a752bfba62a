import os

from django.core.management.base import CommandError

from nbhosting.cli import NbhCommand, find_course
from nbhosting.exchange import inbound
from nbhosting.exchange.models import nbgrader_of
from nbhosting.sizes import format_size
from nbhosting.workspaces import quota


class Command(NbhCommand):
    help = "Each student's disk usage in a course, against the course's quota."

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, name, **options):
        course = find_course(name)
        try:
            disk = quota.driver()
            found = quota.usage(course)
        except quota.QuotaError as exc:
            raise CommandError(str(exc)) from None
        fs = os.statvfs(quota.workspaces_root())
        self.stdout.write(
            f"course {name}: quota {format_size(course.quota_bytes)} per student ({disk.name}); the workspaces' "
            f"filesystem has {format_size(fs.f_bavail * fs.f_frsize)} free of {format_size(fs.f_blocks * fs.f_frsize)}")
        row = "{:<40} {:>10} {:>10} {:>5}"
        self.stdout.write(row.format("STUDENT", "USED", "LIMIT", "USE%"))
        for path in quota.workspaces(course):
            self.line(row, path.name, found.get(path.name))
        nbgrader = nbgrader_of(course)
        if nbgrader is None:
            return
        try:
            boxes = inbound.usage(course)
        except quota.QuotaError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"exchange drop boxes: quota {format_size(nbgrader.exchange_quota_bytes)} per student")
        self.stdout.write(row.format("STUDENT", "USED", "LIMIT", "USE%"))
        for name in inbound.boxes(course):
            self.line(row, name, boxes.get(name))

    def line(self, row: str, name: str, usage: quota.Usage | None) -> None:
        if usage is None:
            self.stdout.write(row.format(name, "-", "no quota", "-"))
        else:
            self.stdout.write(row.format(name, format_size(usage.used), format_size(usage.limit),
                                         f"{usage.full:.0%}" if usage.limit else "-"))
