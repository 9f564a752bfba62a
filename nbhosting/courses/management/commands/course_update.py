from django.core.management.base import CommandError

from nbhosting.cli import NbhCommand, find_course
from nbhosting.courses.models import Course
from nbhosting.pool import settings as pools
from nbhosting.pool.schedule import InvalidSchedule
from nbhosting.sizes import InvalidSize, format_size, parse_size
from nbhosting.workspaces import quota


class Command(NbhCommand):
    help = "Change a course's settings; running containers pick them up at their next start."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--image", help="container image ('' for the site's default)")
        parser.add_argument("--branch")
        parser.add_argument("--trust", choices=Course.Trust.values)
        parser.add_argument("--referer", action="append", help="Referer hosts for legacy links (replaces)")
        network = parser.add_mutually_exclusive_group()
        network.add_argument("--network", action="store_true", default=None)
        network.add_argument("--no-network", dest="network", action="store_false")
        parser.add_argument("--quota", help="each student's disk quota, e.g. 2g, none ('' for the site's default)")
        parser.add_argument("--pool", type=int, metavar="N", help="warm servers kept for new students (0: none)")
        parser.add_argument("--pool-hours", metavar="HH:MM-HH:MM", help="when the pool is warm ('' all day)")
        parser.add_argument("--pool-days", metavar="DAYS", help="on which days, e.g. mon-fri ('' every day)")

    def handle(self, name, **options):
        course = find_course(name)
        changes = {key: options[key] for key in ("image", "branch", "trust", "network", "quota")
                   if options[key] is not None}
        if changes.get("quota"):
            try:
                parse_size(changes["quota"])
            except InvalidSize as exc:
                raise CommandError(str(exc)) from None
        pool = {key: options[f"pool{suffix}"] for key, suffix in (("size", ""), ("hours", "_hours"), ("days", "_days"))
                if options[f"pool{suffix}"] is not None}
        if pool:
            self._set_pool(course, pool)
        if options["referer"] is not None:
            changes["referers"] = " ".join(options["referer"])
        for key, value in changes.items():
            setattr(course, key, value)
        course.save()
        changes.update({f"pool_{k}" if k != "size" else "pool": v for k, v in pool.items()})
        self.stdout.write(f"course {name}: " + (", ".join(f"{k}={v!r}" for k, v in changes.items()) or "unchanged"))
        if "quota" in changes:
            self._apply_quota(course)

    def _set_pool(self, course: Course, changes: dict) -> None:
        """Checked before anything is saved; the monitor's next cycle fills or shrinks the pool."""
        try:
            pools.configure(course, **changes)
        except (pools.InvalidPool, InvalidSchedule) as exc:
            raise CommandError(str(exc)) from None

    def _apply_quota(self, course: Course) -> None:
        """The new limit holds at once, for running servers too."""
        try:
            applied, plain = quota.apply(course)
        except quota.QuotaError as exc:
            raise CommandError(f"the quota is saved but not applied: {exc}") from None
        self.stdout.write(f"quota {format_size(course.quota_bytes)} set on {applied} workspace(s)"
                          + (f"; {len(plain)} plain folder(s) made before quotas stay unlimited" if plain else ""))
