"""Stopping and removing a student's container: the monitor's culls, the staff's commands and the
student's own "stop my server" all go through here, under the pair's lease, so that none of them
ever races a start. Each one is logged with its reason and kept as a Cull row."""
import enum
import logging
from datetime import datetime

from django.conf import settings

from nbhosting.containers import server_files
from nbhosting.containers.backend import Backend
from nbhosting.containers.lease import LeaseTimeout, lease
from nbhosting.containers.models import Container
from nbhosting.monitor.models import Cull

log = logging.getLogger(__name__)
State = Container.State


def _record_cull(name: str, course: str, student: str, action: str, reason: str,
                 idle_seconds: int | None = None) -> None:
    Cull.objects.create(container=name, course=course, student=student, action=action, reason=reason,
                        idle_seconds=idle_seconds)
    log.info("%s %s: %s", action, name, reason)


def cull(record: Container, action: str, reason: str) -> None:
    _record_cull(record.name, record.course.name, record.student.name, action, reason)


class Stop(enum.Enum):
    """What a stop did: only STOPPED stopped a server."""
    STOPPED = "stopped"
    NOT_RUNNING = "not running"  # removed or stopped already: nothing to do
    BUSY = "busy"  # a start or another stop holds the lease
    OPENED = "opened"  # the student opened it since the monitor decided


def stop(record: Container, backend: Backend, reason: str, *, wait: float = 0,
         idle_seconds: int | None = None, unopened_since: datetime | None = None) -> Stop:
    """SIGTERM, then a kill after the grace period; the workspace is untouched. With
    `unopened_since`, gives up if the student opened the server since the decision was made."""
    try:
        with lease(record, wait=wait):
            record.refresh_from_db()
            if unopened_since is not None and record.last_open and record.last_open > unopened_since:
                log.info("kept %s: opened while the monitor was deciding", record.name)
                return Stop.OPENED
            info = backend.status(record.name)
            if info is None or info.state not in ("running", "paused"):
                # Removed or stopped already (by the monitor, or behind our back): the row says so.
                state = State.ABSENT if info is None else State.STOPPED
                Container.objects.filter(pk=record.pk).update(state=state)
                return Stop.NOT_RUNNING
            backend.stop(record.name, settings.NBH_STOP_GRACE)
            server_files.close(record)
            Container.objects.filter(pk=record.pk).update(state=State.STOPPED)
    except LeaseTimeout:
        log.info("kept %s: busy starting or stopping", record.name)
        return Stop.BUSY
    _record_cull(record.name, record.course.name, record.student.name, Cull.Action.STOPPED, reason, idle_seconds)
    return Stop.STOPPED


def remove(record: Container, backend: Backend, reason: str, *, wait: float = 0) -> bool:
    """Removes the container (a stopped one, normally); the next open creates a new one."""
    try:
        with lease(record, wait=wait):
            info = backend.status(record.name)
            if wait == 0 and info is not None and info.state in ("running", "paused"):
                return False  # started again since the decision: not ours to remove any more
            backend.remove(record.name)
            server_files.discard(record)
            Container.objects.filter(pk=record.pk).update(state=State.ABSENT)
    except LeaseTimeout:
        return False
    _record_cull(record.name, record.course.name, record.student.name, Cull.Action.REMOVED, reason)
    return True


def remove_unknown(name: str, labels: dict[str, str], backend: Backend, reason: str) -> None:
    """A container with our instance label that our database does not know."""
    backend.remove(name)
    server_files.discard_folders(name)  # its link goes with the leftovers: no row names its secret
    _record_cull(name, labels.get("nbhosting.course", ""), labels.get("nbhosting.student", ""),
                 Cull.Action.REMOVED, reason)


def last_stop(record: Container) -> Cull | None:
    return Cull.objects.filter(container=record.name, action=Cull.Action.STOPPED).order_by("-time").first()
