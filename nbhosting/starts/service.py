"""What a door calls when a server is not running: queue its start, wait a moment for it, and
otherwise hand the browser the progress page's address."""
import time

from nbhosting.containers.backends import get_backend
from nbhosting.containers.models import Container
from nbhosting.starts import queue, worker
from nbhosting.starts.models import Start

POLL = 0.05


def answering(record: Container) -> bool:
    """Running and answering: such an open needs no start, so it never queues."""
    # At the backend's address for it (podman: root's link), never the student's socket folder:
    # what answers there may be anything the student put there, and a server whose address is
    # gone must be started (relinked), not used.
    return record.state == Container.State.RUNNING and get_backend().answers(record)


def begin(record: Container, page: str, notebook: str = "", action: str = "") -> Start:
    start = queue.enqueue(record, page, notebook, action)
    worker.dispatcher().wake.set()
    return start


def wait(start: Start, seconds: float) -> Start:
    """The start as it is after at most `seconds`, sooner if it is done."""
    deadline = time.monotonic() + seconds
    while True:
        start.refresh_from_db()
        if start.state not in queue.LIVE or time.monotonic() >= deadline:
            return start
        time.sleep(POLL)


def progress_url(start: Start) -> str:
    return f"/starting/{start.token}/"
