"""The thread in each gunicorn worker (and in any process that opens notebooks) that takes
queued starts as slots free up, runs each in a thread of its own, and keeps the queue tidy.

Why threads in the workers, fed from a queue in the database: the start must outlive the
request (a student's progress page polls while it runs), the bound and the queue's order must hold
over every worker process, and a poll may land on any worker. A row in the database survives the
worker that ran it; a thread needs no daemon of its own beside gunicorn."""
import logging
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from nbhosting.containers import kernels, lifecycle
from nbhosting.containers.lease import holder
from nbhosting.containers.lifecycle import LeaseTimeout, SpawnError, ensure_running
from nbhosting.starts import prewarm, queue
from nbhosting.starts.models import Start
from nbhosting.stats.models import record_open
from nbhosting.workspaces.models import UidRangeExhausted
from nbhosting.workspaces.workspace import WorkspaceError

log = logging.getLogger(__name__)
NotStarted = (SpawnError, LeaseTimeout, UidRangeExhausted, WorkspaceError)
IDLE_PERIOD = 0.5  # how often an idle dispatcher looks at the queue (another worker may have filled it)
TIDY_PERIOD = 5.0

_lock = threading.Lock()
_dispatcher: "Dispatcher | None" = None


class Dispatcher:
    def __init__(self) -> None:
        # Named like a lease's holder (host, pid, process start): a dead worker's starts are seen.
        self.worker = holder()
        self.wake = threading.Event()
        self.running: set[int] = set()
        self.running_lock = threading.Lock()
        self.thread = threading.Thread(target=self.loop, name="nbh-starts", daemon=True)

    def loop(self) -> None:
        tidied = 0.0
        while True:
            try:
                close_old_connections()
                if time.monotonic() - tidied > TIDY_PERIOD:
                    tidy()
                    tidied = time.monotonic()
                with self.running_lock:
                    queue.beat(self.worker, list(self.running))
                while (start := queue.claim(self.worker)) is not None:
                    self.launch(start)
            except Exception:  # the loop must outlive a database hiccup
                log.exception("start dispatcher")
            self.wake.wait(IDLE_PERIOD)
            self.wake.clear()

    def launch(self, start: Start) -> None:
        with self.running_lock:
            self.running.add(start.pk)
        threading.Thread(target=self.run, args=(start,), name=f"nbh-start-{start.pk}", daemon=True).start()

    def run(self, start: Start) -> None:
        try:
            run(start)
        finally:
            with self.running_lock:
                self.running.discard(start.pk)
            connection.close()
            self.wake.set()  # a slot is free


def run(start: Start) -> None:
    record = start.container
    try:
        with prewarm.not_an_open(start):
            ready = ensure_running(record.course, record.student)
    except NotStarted as exc:
        log.error("start of %s failed: %s", record.name, exc)
        queue.finish(start, Start.State.FAILED, error=str(exc)[:2000])
        return
    except Exception as exc:
        log.exception("start of %s failed", record.name)
        queue.finish(start, Start.State.FAILED, error=str(exc)[:2000])
        return
    if start.prewarm_id is None and start.notebook:
        kernels.prestart(ready.container, start.notebook)  # before the page is told: see kernels.py
    queue.finish(start, Start.State.READY, cold=ready.cold)
    if start.prewarm_id is not None:
        return  # nobody opened anything
    seconds = (timezone.now() - start.created).total_seconds()
    record_open(record.course.name, record.student.name, start.notebook, start.action, ready.cold, seconds)


def tidy() -> None:
    """Any worker may do it; each step claims its rows with a conditional UPDATE."""
    queue.requeue_orphaned()
    queue.requeue_stale()
    queue.drop_unpolled()
    stop_unclaimed()
    queue.forget_old()


def stop_unclaimed() -> None:
    """A server started for a page nobody polled any more (its tab closed) is stopped
    NBH_START_ABANDON seconds after it was ready, unless the student opened it since."""
    older = timezone.now() - timedelta(seconds=settings.NBH_START_ABANDON)
    for start in queue.undelivered(older):
        if not queue.abandon(start):
            continue
        others = Start.objects.filter(container=start.container_id, delivered__gte=start.finished).exists()
        if not others:
            lifecycle.stop(start.container, "started for a page that nobody waited on",
                           unopened_since=start.finished)


def dispatcher() -> Dispatcher:
    """This process's dispatcher, started on first use."""
    global _dispatcher
    with _lock:
        if _dispatcher is None:
            _dispatcher = Dispatcher()
            _dispatcher.thread.start()
        return _dispatcher
