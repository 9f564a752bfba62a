"""One cycle of the monitor: bring the database in line with the backend, cull by the tiers (the
stops and removals go through containers/lifecycle.py), have the backend sweep leftovers, record
the counts. One container that fails is logged and skipped; the cycle goes on.

Only containers carrying this site's instance label are ever looked at or touched.
"""
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from nbhosting.containers import lease, lifecycle
from nbhosting.containers.backend import Activity, Backend, BackendError, ContainerInfo, ServerState
from nbhosting.containers.models import Container
from nbhosting.containers.spawn import labels_of_instance
from nbhosting.monitor import counts, policy
from nbhosting.monitor.models import Cull, Cycle
from nbhosting.pool import upkeep as pools
from nbhosting.starts import prewarm

log = logging.getLogger(__name__)
State = Container.State


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
    # Rows first, the engine second: a start that happens in between changes its row, and the
    # conditional updates below then leave that row alone.
    now = timezone.now()
    records = list(Container.objects.select_related("course", "student").order_by("name"))
    infos = {info.name: info for info in backend.list(labels_of_instance())}
    return Snapshot(now, records, infos)


def probe_all(backend: Backend, records: list[Container], infos: dict[str, ContainerInfo]) -> dict[str, Activity]:
    up = [(r, infos[r.name]) for r in records if r.name in infos and infos[r.name].state.up]
    return backend.probe(up)


def leased(record: Container, now: datetime) -> bool:
    return record.lease_until is not None and record.lease_until > now


def mark(record: Container, state: str, reason: str) -> bool:
    """Brings the row in line with the engine, unless a start or stop changed it since we read it,
    or holds its lease now."""
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=timezone.now())
    changed = Container.objects.filter(
        free, pk=record.pk, state=record.state, started_at=record.started_at
    ).update(state=state)
    if changed:
        lifecycle.cull(record, Cull.Action.MARKED, reason)
    return bool(changed)


class CycleWork:
    """One cycle's work over one snapshot; the tally becomes the cycle's counts."""

    def __init__(self, backend: Backend, snap: Snapshot) -> None:
        self.backend = backend
        self.snap = snap
        self.limits = limits()
        self.tally = counts.Tally()
        self.pools = pools.plan(snap.now)  # unclaimed pool servers: kept while wanted, not idle-culled

    def handle(self, record: Container, activity: Activity | None) -> None:
        info = self.snap.infos.get(record.name)
        state = info.state if info is not None else None
        try:
            if leased(record, self.snap.now) and lease.free_if_gone(record):
                record.lease_owner, record.lease_until = "", None  # its worker died: taken over
            if not leased(record, self.snap.now):  # else a start or a stop is under way
                state = self.reconcile(record, info, activity)
        finally:
            self.count(record.course.name, state, activity)

    def reconcile(self, record: Container, info: ContainerInfo | None,
                  activity: Activity | None) -> ServerState | None:
        """Brings the row in line with the engine, then applies the tiers; returns the state after
        (None: no container)."""
        now = self.snap.now
        if info is None:
            if record.state != State.ABSENT and mark(record, State.ABSENT, "container disappeared"):
                lifecycle.tidy(record, self.backend)
            return None
        if info.state.up:
            if record.state != State.RUNNING:
                mark(record, State.RUNNING, f"container is {info.said} "
                                            f"although recorded {record.state}")
            if info.state != ServerState.RUNNING:
                return info.state  # still starting: the tiers apply once it runs
            decision = self.pools.decision(record) if self.pools.has(record) else policy.for_running(
                activity or Activity(answered=False), record.started_at, record.last_open, now, self.limits)
            if decision and lifecycle.stop(record, decision.reason, backend=self.backend,
                                           idle_seconds=decision.idle_seconds,
                                           unopened_since=record.last_open) is lifecycle.Stop.STOPPED:
                self.tally.culled += 1
                return ServerState.STOPPED
        elif info.state == ServerState.LOST:
            # Its processes are gone: removed now, so that the row and the counts say so.
            if lifecycle.remove(record, f"container {info.detail} but its processes are gone",
                                backend=self.backend):
                self.tally.culled += 1
                return None
        elif info.state == ServerState.STOPPED:
            if record.state == State.RUNNING:
                mark(record, State.STOPPED, f"container {info.said} on its own")
            decision = policy.for_stopped(info.finished or info.created, now, self.limits)
            if decision and lifecycle.remove(record, decision.reason, backend=self.backend):
                self.tally.culled += 1
                return None
        return info.state

    def count(self, course: str, state: ServerState | None, activity: Activity | None) -> None:
        if state is not None and state.up:
            self.tally.running[course] += 1
            if activity is not None:
                self.tally.kernels[course] += activity.kernels
                self.tally.busy_kernels[course] += activity.busy_kernels
        elif state is not None:
            self.tally.stopped[course] += 1

    def handle_unknown(self, info: ContainerInfo) -> None:
        """Ours by label, unknown to the database (a lost row, a restored backup): reported every
        cycle, and removed once it has been down, or existed, for the removal delay."""
        since = info.finished if not info.state.up and info.finished else info.created
        age = (self.snap.now - since).total_seconds() if since else 0
        if age < self.limits.remove_after:
            log.warning("unknown container %s (%s) carries our label; it will be removed after %s",
                        info.name, info.said, policy.minutes(self.limits.remove_after))
            return
        lifecycle.remove_unknown(info.name, info.labels, f"unknown to the database, "
                                 f"{info.said}, {policy.minutes(age)} old", self.backend)
        self.tally.culled += 1

    def clean_leftovers(self) -> None:
        self.backend.sweep(self.snap.records, self.snap.infos)

    def isolated(self, what: str, function: Callable[..., Any], *args: Any) -> None:
        """Runs one step of the cycle; its failure is counted and logged, and the cycle goes on."""
        try:
            function(*args)
        except (BackendError, OSError) as exc:
            self.tally.errors += 1
            log.error("monitor: %s failed: %s", what, exc)
        except Exception:  # one container must never stop the cycle
            self.tally.errors += 1
            log.exception("monitor: %s failed unexpectedly", what)


def run(backend: Backend) -> Cycle:
    started = time.monotonic()
    snap = snapshot(backend)
    activities = probe_all(backend, snap.records, snap.infos)
    work = CycleWork(backend, snap)
    for record in snap.records:
        work.isolated(record.name, work.handle, record, activities.get(record.name))
    known = {r.name for r in snap.records}
    for info in snap.infos.values():
        if info.name not in known:
            work.isolated(info.name, work.handle_unknown, info)
    work.isolated("leftovers", work.clean_leftovers)
    work.isolated("pools", pools.run, backend, snap.now)  # refill and retire (nbhosting/pool)
    # Plans of `nbh course-prewarm --at`: due ones are queued; the gunicorn workers start them.
    work.isolated("prewarm plans", prewarm.run_due, snap.now)
    cycle = counts.save(work.tally, snap.now, time.monotonic() - started)
    log.info("cycle: %d running, %d stopped, %d kernels (%d busy), %d culled, %d errors, %.2fs",
             cycle.running, cycle.stopped, cycle.kernels, cycle.busy_kernels, cycle.culled,
             cycle.errors, cycle.seconds)
    return cycle
