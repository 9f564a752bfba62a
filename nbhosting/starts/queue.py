"""Admission control: starts wait in a queue (the Start rows, first come first served) and at
most NBH_START_CONCURRENCY of them run at once, over all gunicorn workers. A start takes one of
that many slots with one conditional UPDATE that a unique column guards, so the bound holds on
SQLite and PostgreSQL whichever process claims first; a worker that dies leaves its slot to be
taken back at once when this host sees its process gone (the worker is named like a lease's
holder), and otherwise once its heartbeat is stale."""
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from nbhosting.containers.lease import holder_is_gone
from nbhosting.containers.models import Container
from nbhosting.starts.models import Prewarm, Start

State = Start.State
LIVE = (State.QUEUED, State.STARTING)
# A worker refreshes the heartbeat of its starts every second or two; three times the period
# of the slowest is still far below a start's own timeout.
STALE_AFTER = timedelta(seconds=30)


def enqueue(container: Container, page: str, notebook: str = "", action: str = "") -> Start:
    return Start.objects.create(container=container, page=page, notebook=notebook, action=action)


def enqueue_prewarm(container: Container, prewarm: Prewarm) -> Start:
    """A start that no page waits on (starts/prewarm.py)."""
    return Start.objects.create(container=container, page="", prewarm=prewarm)


def position(start: Start) -> int:
    """1 for the next to start; 0 once it is starting or done. Opens go before prewarm starts."""
    if start.state != State.QUEUED:
        return 0
    ahead = Q(prewarm__isnull=True, id__lte=start.id)
    if start.prewarm_id is not None:
        ahead = Q(prewarm__isnull=True) | Q(prewarm__isnull=False, id__lte=start.id)
    return Start.objects.filter(ahead, state=State.QUEUED).count()


def starting_count() -> int:
    return Start.objects.filter(state=State.STARTING).count()


def claim(worker: str) -> Start | None:
    """The oldest queued start, now holding a free slot; None when all slots are taken or nobody
    waits."""
    bound = settings.NBH_START_CONCURRENCY
    while True:
        taken = set(Start.objects.filter(slot__isnull=False).values_list("slot", flat=True))
        free = [slot for slot in range(bound) if slot not in taken]
        # A student waiting on their page goes before a class's prewarm (NULLs sort first on
        # SQLite and last on PostgreSQL: hence the explicit order).
        oldest = (Start.objects.filter(state=State.QUEUED)
                  .order_by(F("prewarm").asc(nulls_first=True), "id").values_list("id", flat=True).first())
        if not free or oldest is None:
            return None
        now = timezone.now()
        try:
            with transaction.atomic():
                claimed = Start.objects.filter(pk=oldest, state=State.QUEUED).update(
                    state=State.STARTING, slot=free[0], worker=worker, heartbeat=now, started=now)
        except IntegrityError:
            continue  # another process took that slot first: look again
        if claimed:
            return Start.objects.select_related("container__course", "container__student").get(pk=oldest)


def spare_slots() -> list[int]:
    """The slots a start that no student waits on may take now (see take_spare); empty: none."""
    bound = settings.NBH_START_CONCURRENCY
    if Start.objects.filter(state=State.QUEUED).exists():
        return []
    taken = set(Start.objects.filter(slot__isnull=False).values_list("slot", flat=True))
    free = [slot for slot in range(bound) if slot not in taken]
    return free if len(free) >= min(2, bound) else []


def take_spare(container: Container, worker: str) -> Start | None:
    """A slot for a start that no student waits on (a warm pool's refill): only while no student's
    start is queued, and only when another slot stays free for the next student (with a bound of
    one, the one slot when it is free). Never a place in the queue: students always go first. The
    row is delivered already, so that nothing stops its server as abandoned; None: not now."""
    free = spare_slots()
    if not free:
        return None
    now = timezone.now()
    try:
        with transaction.atomic():
            return Start.objects.create(container=container, page="", state=State.STARTING, slot=free[0],
                                        worker=worker, heartbeat=now, started=now, delivered=now)
    except IntegrityError:
        return None  # a student's start took it first


def beat(worker: str, ids: list[int]) -> None:
    if ids:
        Start.objects.filter(pk__in=ids, worker=worker, state=State.STARTING).update(heartbeat=timezone.now())


def finish(start: Start, state: str, *, cold: bool = False, error: str = "") -> None:
    Start.objects.filter(pk=start.pk, state=State.STARTING).update(
        state=state, slot=None, finished=timezone.now(), cold=cold, error=error)


def mark_polled(start: Start) -> None:
    Start.objects.filter(pk=start.pk).update(polled=timezone.now())


def deliver(start: Start) -> bool:
    """The student gets the server's URL: record it (the server is wanted) and count the open."""
    now = timezone.now()
    Container.objects.filter(pk=start.container_id).update(last_open=now)
    return Start.objects.filter(pk=start.pk, delivered__isnull=True).update(delivered=now, polled=now) == 1


def requeue(start: Start) -> bool:
    """A failed or abandoned start, asked for again: back to its first place in the queue."""
    return Start.objects.filter(pk=start.pk, state__in=(State.FAILED, State.ABANDONED)).update(
        state=State.QUEUED, error="", finished=None, polled=timezone.now()) == 1


def requeue_stale() -> int:
    """Starts whose worker stopped beating (on another host, or hung): their slot goes back, and
    they wait again at their place. Their pair's lease expires by itself."""
    return Start.objects.filter(state=State.STARTING, heartbeat__lt=timezone.now() - STALE_AFTER).update(
        state=State.QUEUED, slot=None, worker="")


def requeue_orphaned() -> int:
    """Starts whose worker process is gone, as this host can tell (killed, restarted): they wait
    again at their place at once, and their run takes the pair's lease over from the dead worker."""
    requeued = 0
    for pk, worker in Start.objects.filter(state=State.STARTING).values_list("pk", "worker"):
        if worker and holder_is_gone(worker):
            requeued += Start.objects.filter(pk=pk, state=State.STARTING, worker=worker).update(
                state=State.QUEUED, slot=None, worker="")
    return requeued


def drop_unpolled() -> int:
    """Queued starts whose page nobody polls any more (the tab was closed) are not started; a
    later poll puts them back at their place."""
    cutoff = timezone.now() - timedelta(seconds=settings.NBH_START_ABANDON)
    return Start.objects.filter(state=State.QUEUED, polled__lt=cutoff, prewarm__isnull=True).update(
        state=State.ABANDONED, finished=timezone.now())


def undelivered(older_than: datetime) -> list[Start]:
    """Ready starts whose student never came for the server. Not a prewarm's: nobody was waiting,
    and the monitor culls its servers like any idle one."""
    return list(Start.objects.filter(state=State.READY, delivered__isnull=True, finished__lt=older_than,
                                     prewarm__isnull=True)
                .select_related("container__course", "container__student"))


def abandon(start: Start) -> bool:
    return Start.objects.filter(pk=start.pk, state=State.READY, delivered__isnull=True).update(
        state=State.ABANDONED) == 1


def forget_old() -> int:
    """Tokens of finished starts stop working a day later."""
    cutoff = timezone.now() - timedelta(days=1)
    return Start.objects.filter(~Q(state__in=LIVE), finished__lt=cutoff).delete()[0]
