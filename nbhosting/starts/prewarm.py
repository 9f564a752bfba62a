"""Prewarm: a class's servers started before the class (`nbh course-prewarm`), so that returning
students find theirs running instead of all starting at the same minute.

The students are named (a classroom group, or a file of ids) and must be known to the course.
Their starts go through the start queue, behind its bound, and after any student who waits on a
progress page. Now, or when a plan's time comes: the monitor's cycle launches due plans and
closes those whose starts are all done; the gunicorn workers' dispatchers run the starts.

A prewarm is not an open: it records no OpenEvent, the pair's last_open stays what it was (the
dashboard's "active" counts people), and a server that nobody opens is stopped by the monitor's
idle tier like any other, idle since its start.
"""
import re
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from nbhosting.accounts.models import Enrollment
from nbhosting.containers.models import Container
from nbhosting.containers.spawn import get_record
from nbhosting.courses.models import Course
from nbhosting.names import InvalidName, validate_student
from nbhosting.starts import queue
from nbhosting.starts.models import Prewarm, Start
from nbhosting.workspaces.models import Student

PlanState = Prewarm.State
HH_MM = re.compile(r"^(?P<hour>[01]?\d|2[0-3]):(?P<minute>[0-5]\d)$")
POLL = 1.0
SHOWN = 5  # unknown ids named in an error


class PrewarmError(ValueError):
    """Bad input: nothing was planned or started."""


# --- who -----------------------------------------------------------------------------------------
def group_students(course: Course, group: str) -> list[Student]:
    found = [e.student for e in Enrollment.objects.filter(course=course, group=group)
             .select_related("student").order_by("student__name")]
    if not found:
        raise PrewarmError(f"no student of {course.name} is in group {group!r}")
    return found


def read_ids(path: str) -> list[str]:
    """One student id a line; blank lines and # comments are skipped."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PrewarmError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    ids = []
    for number, line in enumerate(text.splitlines(), 1):
        name = line.split("#", 1)[0].strip()
        if not name:
            continue
        try:
            ids.append(validate_student(name))
        except InvalidName as exc:
            raise PrewarmError(f"{path}, line {number}: {exc}") from None
    if not ids:
        raise PrewarmError(f"{path} names no student")
    return list(dict.fromkeys(ids))


def known_students(course: Course, ids: list[str]) -> list[Student]:
    """Students the course knows (enrolled, or who have a server in it); any other id is an error."""
    known = Student.objects.filter(Q(enrollments__course=course) | Q(containers__course=course),
                                   name__in=ids).distinct()
    by_name = {s.name: s for s in known}
    unknown = [i for i in ids if i not in by_name]
    if unknown:
        more = f" and {len(unknown) - SHOWN} more" if len(unknown) > SHOWN else ""
        raise PrewarmError(f"{len(unknown)} id(s) unknown to {course.name}: {', '.join(unknown[:SHOWN])}{more}")
    return [by_name[i] for i in ids]


def resolve(course: Course, group: str | None, path: str | None) -> list[Student]:
    if group is None and path is None:
        raise PrewarmError("name the students: --group G, --students FILE, or both")
    students = group_students(course, group) if group is not None else []
    if path is not None:
        students += known_students(course, read_ids(path))
    return list({s.pk: s for s in students}.values())


# --- when ----------------------------------------------------------------------------------------
def parse_at(text: str, now: datetime | None = None) -> datetime:
    """HH:MM (the next such time: today, or tomorrow once it has passed) or an ISO datetime in
    the future (the site's time zone unless it says its own)."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    if match := HH_MM.match(text.strip()):
        at = local.replace(hour=int(match["hour"]), minute=int(match["minute"]), second=0, microsecond=0)
        return at if at > local else at + timedelta(days=1)
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise PrewarmError(f"--at {text!r}: not HH:MM nor an ISO date and time (2026-12-03T08:50)") from None
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    if at <= now:
        raise PrewarmError(f"--at {text!r} is in the past")
    return at


# --- plans ---------------------------------------------------------------------------------------
def plan(course: Course, students: list[Student], at: datetime | None = None, group: str = "") -> Prewarm:
    return Prewarm.objects.create(course=course, students=[s.name for s in students], group=group or "",
                                  at=at or timezone.now())


def launch(prewarm: Prewarm) -> list[Start]:
    """A pending plan's starts go into the queue (once: the plan is claimed first)."""
    now = timezone.now()
    with transaction.atomic():
        if not Prewarm.objects.filter(pk=prewarm.pk, state=PlanState.PENDING).update(
                state=PlanState.RUNNING, ran=now):
            return []
        students = Student.objects.filter(name__in=prewarm.students)
        starts = [queue.enqueue_prewarm(get_record(prewarm.course, s), prewarm) for s in students]
    prewarm.refresh_from_db()
    return starts  # the dispatchers look at the queue every half second


def outcomes(prewarm: Prewarm) -> dict[str, str]:
    """Each student's outcome so far: started, running already, failed: <why>, cancelled, queued
    or starting."""
    found = {}
    for start in prewarm.starts.select_related("container__student").order_by("id"):
        name = start.container.student.name
        if start.state == Start.State.READY:
            found[name] = "started" if start.cold else "running already"
        elif start.state == Start.State.FAILED:
            found[name] = f"failed: {start.error.strip().splitlines()[0] if start.error.strip() else 'unknown'}"
        elif start.state == Start.State.ABANDONED:
            found[name] = "cancelled"
        else:
            found[name] = start.state
    return found


def tally(found: dict[str, str]) -> str:
    counts = Counter(outcome.split(":", 1)[0] for outcome in found.values())
    order = ["started", "running already", "failed", "cancelled", "queued", "starting"]
    return ", ".join(f"{counts[word]} {word}" for word in order if counts[word] or word in order[:3])


def settle(prewarm: Prewarm) -> bool:
    """A running plan whose starts are all done is closed, with its tally; True when it is done."""
    if prewarm.starts.filter(state__in=queue.LIVE).exists():
        return False
    closed = Prewarm.objects.filter(pk=prewarm.pk, state=PlanState.RUNNING).update(
        state=PlanState.DONE, finished=timezone.now(), report=tally(outcomes(prewarm)))
    prewarm.refresh_from_db()
    return bool(closed) or prewarm.state == PlanState.DONE


def run_due(now: datetime | None = None) -> int:
    """The monitor's step: plans whose time came are launched, running ones are closed once done.
    Returns how many were launched. A plan more than a day late is not run (the class is over)."""
    now = now or timezone.now()
    late = Prewarm.objects.filter(state=PlanState.PENDING, at__lt=now - timedelta(days=1))
    late.update(state=PlanState.CANCELLED, finished=now, report="not run: more than a day late")
    launched = 0
    for due in Prewarm.objects.filter(state=PlanState.PENDING, at__lte=now).select_related("course"):
        launched += bool(launch(due))
    for running in Prewarm.objects.filter(state=PlanState.RUNNING):
        settle(running)
    return launched


def cancel(pk: int) -> Prewarm:
    """A pending plan will not run; a running one's starts that still wait are dropped (servers
    already started stay, and are culled when idle)."""
    prewarm = Prewarm.objects.filter(pk=pk).select_related("course").first()
    if prewarm is None:
        raise PrewarmError(f"no prewarm plan {pk}")
    if not Prewarm.objects.filter(pk=pk, state__in=(PlanState.PENDING, PlanState.RUNNING)).update(
            state=PlanState.CANCELLED, finished=timezone.now()):
        raise PrewarmError(f"prewarm plan {pk} is {prewarm.state}: nothing to cancel")
    prewarm.starts.filter(state=Start.State.QUEUED).update(state=Start.State.ABANDONED, finished=timezone.now())
    prewarm.refresh_from_db()
    prewarm.report = tally(outcomes(prewarm))
    prewarm.save(update_fields=["report"])
    return prewarm


def listed() -> list[Prewarm]:
    """Plans to come or under way, and those that ended in the last day."""
    recent = timezone.now() - timedelta(days=1)
    return list(Prewarm.objects.filter(Q(state__in=(PlanState.PENDING, PlanState.RUNNING)) | Q(finished__gte=recent))
                .select_related("course").order_by("at", "pk"))


def wait(prewarm: Prewarm, patience: float) -> bool:
    """Waits for the plan's starts (run by the site's gunicorn workers) until all are done, or
    none has moved for `patience` seconds. True when all are done."""
    last, moved = None, time.monotonic()
    while not settle(prewarm):
        now_seen = tuple(prewarm.starts.values_list("state", flat=True))
        if now_seen != last:
            last, moved = now_seen, time.monotonic()
        elif time.monotonic() - moved > patience:
            return False
        pause()
    return True


def pause() -> None:
    time.sleep(POLL)


# --- what the worker asks --------------------------------------------------------------------------
@contextmanager
def not_an_open(start: Start) -> Iterator[None]:
    """Around a start: a prewarm's leaves the pair's last_open as it was (a spawn counts its
    start as an open), unless the student opened the server meanwhile."""
    if start.prewarm_id is None:
        yield
        return
    before = Container.objects.filter(pk=start.container_id).values_list("last_open", flat=True).first()
    try:
        yield
    finally:
        Container.objects.filter(pk=start.container_id, last_open=F("started_at")).update(last_open=before)
