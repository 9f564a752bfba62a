import re

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from nbhosting.cli import NbhCommand
from nbhosting.containers.backend import BackendError
from nbhosting.courses.models import validate_quota
from nbhosting.exchange import inbound, layout, sources
from nbhosting.exchange.admin_ops import ContainersRunning, recreate_containers
from nbhosting.exchange.containers import write_config
from nbhosting.exchange.management.commands._course import get_course
from nbhosting.exchange.models import NbgraderCourse
from nbhosting.sizes import format_size
from nbhosting.workspaces.quota import QuotaError

UNITS = {"": 1, "k": 1, "m": 1000, "g": 1000_000}


def size_kb(text: str) -> int:
    """'500k', '20M', '1G' or a number of kilobytes (nbgrader's unit: 1000 bytes)."""
    match = re.fullmatch(r"(\d+)\s*([kmg]?)b?", text.strip().lower())
    if not match or int(match[1]) == 0:
        raise CommandError(f"invalid size {text!r}: use e.g. 500k, 20M or 1G")
    return int(match[1]) * UNITS[match[2]]


class Command(NbhCommand):
    help = "Turn nbgrader on or off for a course, set its submission size limit, or show both."

    def add_arguments(self, parser):
        parser.add_argument("course")
        parser.add_argument("state", nargs="?", choices=["on", "off"])
        parser.add_argument("--size-limit", help="largest submission, e.g. 20M (default: the site's)")
        parser.add_argument("--exchange-quota", metavar="SIZE",
                            help="each student's share of the exchange, e.g. 50m, or none; empty: the site's")
        parser.add_argument("--force", action="store_true", help="stop running containers of the course")

    def handle(self, course, state, size_limit, exchange_quota, force, **options):
        course = get_course(course)
        limit = size_kb(size_limit) if size_limit else None  # refused before anything is made
        if exchange_quota is not None:
            try:
                validate_quota(exchange_quota)
            except ValidationError as exc:
                raise CommandError(f"--exchange-quota: {exc.messages[0]}") from None
        nbgrader, _ = NbgraderCourse.objects.get_or_create(course=course)
        if limit:
            nbgrader.size_limit_kb = limit
        if exchange_quota is not None:
            nbgrader.exchange_quota = exchange_quota
        changed = state is not None and nbgrader.enabled != (state == "on")
        if changed:
            try:
                removed = recreate_containers(course, force)
            except (ContainersRunning, BackendError) as exc:
                raise CommandError(str(exc)) from None
            if removed:
                self.stdout.write(f"{removed} container(s) removed; the next open recreates them")
            nbgrader.enabled = state == "on"
        nbgrader.save()
        if exchange_quota is not None:
            try:
                applied, plain = inbound.apply(nbgrader)
            except QuotaError as exc:
                raise CommandError(f"{course.name}: {exc}") from None
            self.stdout.write(f"{course.name}: exchange quota {format_size(nbgrader.exchange_quota_bytes)} per "
                              f"student, on {applied} drop box(es)"
                              + (f"; {len(plain)} plain folder(s) stay unlimited" if plain else ""))
        if nbgrader.enabled:
            owner = layout.ensure(course)
            for instructor in (False, True):  # in place: running containers see a new limit at once
                write_config(nbgrader, instructor)
            sources.hide(course)  # root's only from now on, before any container is recreated
            if sources.import_sources(course, owner):
                self.stdout.write(f"{course.name}: the repository's source/ copied to the instructors' "
                                  "course directory")
        elif changed:
            sources.release(course)
        self.stdout.write(
            f"{course.name}: nbgrader {'on' if nbgrader.enabled else 'off'}, submissions up to "
            f"{nbgrader.size_limit_kb} kB, exchange quota {format_size(nbgrader.exchange_quota_bytes)} per student, "
            "instructors: "
            + (", ".join(nbgrader.instructors.order_by("username").values_list("username", flat=True)) or "none")
        )
