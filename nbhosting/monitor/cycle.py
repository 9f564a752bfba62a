"""One pass of the monitor: bring the database in line with podman, cull by the tiers, clean
leftovers, record the counts. One container that fails is logged and skipped; the cycle goes on.

Only containers carrying this site's instance label are ever looked at or touched.
"""
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from nbhosting.containers import server_files
from nbhosting.containers.backend import STALE, Backend, BackendError, ContainerInfo
from nbhosting.containers.lease import LeaseTimeout, lease
from nbhosting.containers.models import Container
from nbhosting.containers.spawn import labels_of_instance
from nbhosting.monitor import actions, counts, policy
from nbhosting.monitor.activity import Activity, accepted_connections, probe
from nbhosting.monitor.models import Cull, Cycle

log = logging.getLogger(__name__)
State = Container.State
UP = ("running", "paused")  # a paused container still holds its memory: it counts as running
DOWN = ("exited", "stopped", "created", "configured", STALE)


@dataclass(frozen=True)
class Snapshot:
    now: datetime
    records: list[Container]
    infos: dict[str, ContainerInfo]


def limits() -> policy.Limits:
    return policy.Limits(
        server_after=settings.NBH_CULL_SERVER_AFTER,
        remove_after=settings.NBH_REMOVE_AFTER,
        max_lifetime=settings.NBH_MAX_LIFETIME,
    )


def snapshot(backend: Backend) -> Snapshot:
    # Rows first, podman second: a start that happens in between changes its row, and the
    # conditional updates below then leave that row alone.
    now = timezone.now()
    records = list(Container.objects.select_related("course", "student").order_by("name"))
    infos = {info.name: info for info in backend.list(labels_of_instance())}
    return Snapshot(now, records, infos)


def probe_all(records: list[Container], infos: dict[str, ContainerInfo]) -> dict[str, Activity]:
    """Asks every running server at once: a few slow ones must not add up to a slow cycle."""
    up = [r for r in records if r.name in infos and infos[r.name].state in UP]
    if not up:
        return {}
    accepted = accepted_connections()
    with ThreadPoolExecutor(max_workers=settings.NBH_MONITOR_PROBES) as pool:
        # Through the platform's links: the student's socket folder may point anywhere.
        found = pool.map(lambda r: probe(r.link, r.base_url, infos[r.name].pid, accepted), up)
        return {record.name: activity for record, activity in zip(up, found)}


def leased(record: Container, now: datetime) -> bool:
    return record.lease_until is not None and record.lease_until > now


def mark(record: Container, state: str, reason: str) -> bool:
    """Brings the row in line with podman, unless a start or stop changed it since we read it,
    or holds its lease now."""
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=timezone.now())
    changed = Container.objects.filter(
        free, pk=record.pk, state=record.state, started_at=record.started_at
    ).update(state=state)
    if changed:
        actions.cull(record, Cull.Action.MARKED, reason)
    return bool(changed)


class Pass:
    """One cycle's work over one snapshot; the tally becomes the cycle's counts."""

    def __init__(self, backend: Backend, snap: Snapshot) -> None:
        self.backend = backend
        self.snap = snap
        self.limits = limits()
        self.tally = counts.Tally()

    def handle(self, record: Container, activity: Activity | None) -> None:
        info = self.snap.infos.get(record.name)
        state = info.state if info is not None else None
        try:
            if not leased(record, self.snap.now):  # else a start or a stop is under way
                state = self.reconcile(record, info, activity)
        finally:
            self.count(record.course.name, state, activity)

    def reconcile(self, record: Container, info: ContainerInfo | None, activity: Activity | None) -> str | None:
        """Brings the row in line with podman, then applies the tiers; returns podman's state after."""
        now = self.snap.now
        if info is None:
            if record.state != State.ABSENT and mark(record, State.ABSENT, "container disappeared"):
                self.clean_socket(record)
            return None
        if info.state in UP:
            if record.state != State.RUNNING:
                mark(record, State.RUNNING, f"container is {info.state} although recorded {record.state}")
            decision = policy.for_running(activity or Activity(answered=False), record.started_at,
                                          record.last_open, now, self.limits)
            if decision and actions.stop(record, self.backend, decision.reason, idle_seconds=decision.idle_seconds,
                                         unopened_since=record.last_open) is actions.Stop.STOPPED:
                self.tally.culled += 1
                return "exited"
        elif info.state in DOWN:
            if record.state == State.RUNNING:
                mark(record, State.STOPPED, f"container {info.state} on its own")
            decision = policy.for_stopped(info.finished or info.created, now, self.limits)
            if decision and actions.remove(record, self.backend, decision.reason):
                self.tally.culled += 1
                return None
        return info.state

    def count(self, course: str, state: str | None, activity: Activity | None) -> None:
        if state in UP:
            self.tally.running[course] += 1
            if activity is not None:
                self.tally.kernels[course] += activity.kernels
                self.tally.busy_kernels[course] += activity.busy_kernels
        elif state is not None:
            self.tally.stopped[course] += 1

    def handle_unknown(self, info: ContainerInfo) -> None:
        """Ours by label, unknown to the database (a lost row, a restored backup): reported every
        cycle, and removed once it has been down, or existed, for the removal delay."""
        since = info.finished if info.state in DOWN and info.finished else info.created
        age = (self.snap.now - since).total_seconds() if since else 0
        if age < self.limits.remove_after:
            log.warning("unknown container %s (%s) carries our label; it will be removed after %s",
                        info.name, info.state, policy.minutes(self.limits.remove_after))
            return
        actions.remove_unknown(info.name, info.labels, self.backend,
                               f"unknown to the database, {info.state}, {policy.minutes(age)} old")
        self.tally.culled += 1

    def clean_leftovers(self) -> None:
        """Links and socket folders of containers that are down, and the files of containers
        that nobody knows."""
        for record in self.snap.records:
            info = self.snap.infos.get(record.name)
            if (info is None or info.state not in UP) and server_files.leftover(record, gone=info is None):
                self.clean_socket(record)
        self.clean_unknown_folders()
        self.clean_links()

    def clean_unknown_folders(self) -> None:
        # A first open creates its row before its folders and link: rows made since the snapshot
        # are read again, so that a start under way keeps what it just made.
        run = settings.DATA_ROOT / "run"
        by_name = {r.name for r in self.snap.records}
        unknown = sorted({f.name for f in [*_entries(run / "containers"), *_entries(run / "config")]
                          if f.name not in by_name and f.name not in self.snap.infos})
        known_now = set(Container.objects.filter(name__in=unknown).values_list("name", flat=True))
        for name in unknown:
            if name not in known_now:
                server_files.discard_folders(name)
                log.info("removed leftover socket folder %s", name)

    def clean_links(self) -> None:
        """Links whose secret nobody has, and anything in the links folder that is not a socket
        (an older version's symlinks into the students' socket folders: the next open links the
        socket itself)."""
        folder = settings.DATA_ROOT / "run" / "links"
        links = {link: server_files.secret_of_link(link.name) for link in _entries(folder)}
        known = {r.secret for r in self.snap.records}
        unknown = [secret for secret in links.values() if secret not in known]
        known |= set(Container.objects.filter(secret__in=unknown).values_list("secret", flat=True))
        for link, secret in links.items():
            if secret not in known or not server_files.is_socket(link):
                link.unlink(missing_ok=True)  # root's folder: only the platform makes entries there
                log.info("removed leftover link %s", link.name)

    def clean_socket(self, record: Container) -> None:
        """Under the lease and after asking podman again (a start may be making this very socket):
        the link goes, and the socket folder is emptied, or removed with its container."""
        try:
            with lease(record, wait=0):
                info = self.backend.status(record.name)
                if info is None:
                    server_files.discard(record)
                elif info.state not in UP:
                    server_files.close(record)
                else:
                    return
                log.info("removed leftover socket of %s", record.name)
        except LeaseTimeout:
            pass

    def guarded(self, what: str, function, *args) -> None:
        try:
            function(*args)
        except (BackendError, OSError) as exc:
            self.tally.errors += 1
            log.error("monitor: %s failed: %s", what, exc)
        except Exception:  # one container must never stop the cycle
            self.tally.errors += 1
            log.exception("monitor: %s failed unexpectedly", what)


def _entries(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError:
        return []


def run(backend: Backend) -> Cycle:
    started = time.monotonic()
    snap = snapshot(backend)
    activities = probe_all(snap.records, snap.infos)
    work = Pass(backend, snap)
    for record in snap.records:
        work.guarded(record.name, work.handle, record, activities.get(record.name))
    known = {r.name for r in snap.records}
    for info in snap.infos.values():
        if info.name not in known:
            work.guarded(info.name, work.handle_unknown, info)
    work.guarded("leftovers", work.clean_leftovers)
    cycle = counts.save(work.tally, snap.now, time.monotonic() - started)
    log.info("cycle: %d running, %d stopped, %d kernels (%d busy), %d culled, %d errors, %.2fs",
             cycle.running, cycle.stopped, cycle.kernels, cycle.busy_kernels, cycle.culled,
             cycle.errors, cycle.seconds)
    return cycle
