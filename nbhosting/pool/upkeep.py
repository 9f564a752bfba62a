"""The monitor's part in the pools (called from monitor/cycle.py): which unclaimed servers the
idle tiers leave alone, and each cycle's refill and culls.

- A FREE slot the pool wants (within its hours and days, among the first `size`) is never culled
  as idle: keeping it warm is its purpose. One it does not want (outside the schedule) is stopped
  like an idle server, and removed after NBH_REMOVE_AFTER by the usual tier; its identity, uid
  and empty workspace stay for the next session, so that uids are not spent day after day.
- Slots beyond the size (the pool was made smaller, or turned off, or the course became an
  nbgrader course) are retired: container, workspace and identity removed, under the lease.
- Within the schedule, the pool is filled up to its size through the lifecycle: stopped or removed
  slots are started again first, then new ones are made. Each start holds a slot of the start
  queue taken only when no student's start waits (starts.queue.take_spare): students first.
"""
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from nbhosting.containers import lifecycle
from nbhosting.containers.backend import Backend
from nbhosting.containers.lease import holder
from nbhosting.containers.models import Container
from nbhosting.containers.spawn import get_record
from nbhosting.courses.models import Course
from nbhosting.exchange.models import nbgrader_of
from nbhosting.monitor.policy import Decision
from nbhosting.names import pool_identity
from nbhosting.pool import schedule
from nbhosting.pool.models import Policy, Slot
from nbhosting.starts import queue
from nbhosting.starts.models import Start
from nbhosting.workspaces.models import UidRangeExhausted, get_or_create_account
from nbhosting.workspaces.workspace import WorkspaceError

log = logging.getLogger(__name__)
State = Container.State
OUTSIDE = "unclaimed pool server outside the pool's hours"
NotStarted = (lifecycle.SpawnError, lifecycle.LeaseTimeout, UidRangeExhausted, WorkspaceError)


def target(course: Course, policy: Policy | None, now: datetime) -> int:
    """How many warm servers the course wants now."""
    if policy is None or not policy.size or nbgrader_of(course) is not None:
        return 0
    return policy.size if schedule.within(policy.hours, policy.days, now) else 0


def capacity(course: Course, policy: Policy | None) -> int:
    """How many slots the course keeps at all (warm or not): beyond that, they are retired."""
    if policy is None or nbgrader_of(course) is not None:
        return 0
    return policy.size


@dataclass
class Plan:
    """One cycle's view of the pools, read once: free slots by container, and the wanted ones."""
    now: datetime
    free: set[int] = field(default_factory=set)
    wanted: set[int] = field(default_factory=set)

    def has(self, record: Container) -> bool:
        return record.pk in self.free

    def decision(self, record: Container) -> Decision | None:
        """For a free slot's running server: None while the pool wants it, else a stop."""
        if record.pk in self.wanted:
            return None
        return Decision("stop", OUTSIDE)


def plan(now: datetime) -> Plan:
    result = Plan(now)
    policies = {p.course_id: p for p in Policy.objects.select_related("course")}
    slots = Slot.objects.filter(state=Slot.State.FREE).select_related("course").order_by("created", "pk")
    kept: dict[int, int] = {}
    for slot in slots:
        result.free.add(slot.container_id)
        count = kept.get(slot.course_id, 0)
        if count < target(slot.course, policies.get(slot.course_id), now):
            result.wanted.add(slot.container_id)
            kept[slot.course_id] = count + 1
    return result


def run(backend: Backend, now: datetime) -> None:
    """Retires slots beyond each pool's size, then fills the pools that are wanted now."""
    policies = {p.course_id: p for p in Policy.objects.select_related("course")}
    course_ids = set(policies) | set(Slot.objects.filter(state=Slot.State.FREE).values_list("course_id", flat=True))
    for course in Course.objects.filter(pk__in=course_ids).order_by("name"):
        policy = policies.get(course.pk)
        free = list(Slot.objects.filter(course=course, state=Slot.State.FREE)
                    .select_related("container__course", "container__student").order_by("created", "pk"))
        for slot in free[capacity(course, policy):]:
            retire(slot, backend)
        if not refill(course, free[:capacity(course, policy)], target(course, policy, now), backend):
            return  # students' starts come first: the next cycle goes on


def retire(slot: Slot, backend: Backend) -> bool:
    """Removes a free slot for good, unless a student claimed it first."""
    if not Slot.objects.filter(pk=slot.pk, state=Slot.State.FREE).update(state=Slot.State.RETIRING):
        return False
    record = slot.container
    lifecycle.wipe(record, "unclaimed pool server beyond the pool's size", backend=backend)
    identity = record.student
    record.delete()  # the slot goes with it
    identity.delete()
    log.info("retired pool server %s", record.name)
    return True


def refill(course: Course, free: list[Slot], wanted: int, backend: Backend) -> bool:
    """Starts free slots that are down, then makes new ones, up to `wanted` running. False when
    a start had to wait for students' starts."""
    running = len([s for s in free if s.container.state == State.RUNNING])
    down = [s.container for s in free if s.container.state != State.RUNNING]
    while running < wanted:
        if not queue.spare_slots():
            return False
        record = down.pop(0) if down else new_slot(course).container
        if not start(record, backend):
            return False
        running += 1
    return True


def new_slot(course: Course) -> Slot:
    identity = get_or_create_account(pool_identity(secrets.token_hex(8)))
    record = get_record(course, identity)
    return Slot.objects.create(course=course, container=record)


def start(record: Container, backend: Backend) -> bool:
    """Starts one pool server in a spare slot of the start queue; False when there is none now."""
    spare = queue.take_spare(record, holder())
    if spare is None:
        return False
    try:
        lifecycle.start(record, backend)
    except NotStarted as exc:
        log.error("pool server %s did not start: %s", record.name, exc)
        queue.finish(spare, Start.State.FAILED, error=str(exc)[:2000])
        return True  # counted: a failing image must not make every cycle try forever
    queue.finish(spare, Start.State.READY, cold=True)
    log.info("pool server %s is warm", record.name)
    return True


def unclaimed_identities(course: Course) -> list[int]:
    """The pool identities (Student ids) of the course's unclaimed slots: nothing but the slot
    names them, so they go when the course goes, and their uids with them."""
    return list(Slot.objects.filter(course=course).exclude(state=Slot.State.CLAIMED)
                .values_list("container__student_id", flat=True))


def warm_counts() -> dict[int, int]:
    """Free slots whose server runs, per course id: what the dashboard and course-list show."""
    counts: dict[int, int] = {}
    for course_id in Slot.objects.filter(state=Slot.State.FREE, container__state=State.RUNNING).values_list(
            "course_id", flat=True):
        counts[course_id] = counts.get(course_id, 0) + 1
    return counts
