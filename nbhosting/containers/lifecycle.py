"""The one path to start, stop, remove and restart a pair's server, always under the pair's lease,
so that none of these ever races a start: the gateway, the monitor's culls, the dashboard, the
staff's commands, the exchange's admin operations and course deletion all come through here.
Each stop and removal is logged with its reason and kept as a Cull row.
"""
import enum
import logging
from datetime import datetime

from django.conf import settings

from nbhosting.containers.backend import Backend, BackendError, ContainerInfo
from nbhosting.containers.backends import get_backend
from nbhosting.containers.lease import LeaseTimeout, lease
from nbhosting.containers.models import Container, new_secret
from nbhosting.containers.spawn import Ready, SpawnError, ensure_running, get_record, labels_of_course
from nbhosting.courses.models import Course
from nbhosting.monitor.models import Cull
from nbhosting.workspaces import workspace

__all__ = ["Ready", "SpawnError", "LeaseTimeout", "ensure_running", "get_record", "start", "stop", "remove",
           "restart", "wipe", "tidy", "remove_unknown", "remove_course_containers", "renew_secret", "Stop",
           "ContainersRunning"]
log = logging.getLogger(__name__)
State = Container.State
# How long a person's request waits for a start or stop under way to finish.
STAFF_WAIT = 30.0
# The monitor never waits: a pair that is busy is looked at again next cycle.
NO_WAIT = 0.0


class Stop(enum.Enum):
    """What a stop did: only STOPPED stopped a server."""
    STOPPED = "stopped"
    NOT_RUNNING = "not running"  # removed or stopped already: nothing to do
    BUSY = "busy"  # a start or another stop holds the lease
    OPENED = "opened"  # the student opened it since the monitor decided


class ContainersRunning(RuntimeError):
    """Some of the course's servers run, and the caller did not ask to stop them."""


def _record_cull(name: str, course: str, student: str, action: str, reason: str,
                 idle_seconds: int | None = None) -> None:
    Cull.objects.create(container=name, course=course, student=student, action=action, reason=reason,
                        idle_seconds=idle_seconds)
    log.info("%s %s: %s", action, name, reason)


def cull(record: Container, action: str, reason: str, idle_seconds: int | None = None) -> None:
    _record_cull(record.name, record.course.name, record.student.name, action, reason, idle_seconds)


def _take_down(record: Container, backend: Backend, info: ContainerInfo | None, **fields: object) -> None:
    """Stops (if it runs) and removes the container, and everything of the server beside its row;
    the row says absent. Under the pair's lease."""
    if info is not None and info.state.up:
        backend.stop(record.name, settings.NBH_STOP_GRACE)
    backend.remove(record.name)
    backend.discard(record)
    Container.objects.filter(pk=record.pk).update(state=State.ABSENT, **fields)


def start(record: Container, backend: Backend | None = None) -> Ready:
    """Starts the pair's server, or finds it running; raises SpawnError or LeaseTimeout."""
    return ensure_running(record.course, record.student, backend)


def stop(record: Container, reason: str, *, wait: float = NO_WAIT, backend: Backend | None = None,
         idle_seconds: int | None = None, unopened_since: datetime | None = None) -> Stop:
    """SIGTERM, then a kill after the grace period; the workspace is untouched. Waits up to `wait`
    seconds for the lease. With `unopened_since`, gives up if the student opened the server since
    the decision was made."""
    backend = backend or get_backend()
    try:
        with lease(record, wait=wait):
            record.refresh_from_db()
            if unopened_since is not None and record.last_open and record.last_open > unopened_since:
                log.info("kept %s: opened while the monitor was deciding", record.name)
                return Stop.OPENED
            info = backend.status(record.name)
            if info is None or not info.state.up:
                # Removed or stopped already (by the monitor, or behind our back): the row says so.
                state = State.ABSENT if info is None else State.STOPPED
                Container.objects.filter(pk=record.pk).update(state=state)
                return Stop.NOT_RUNNING
            backend.stop(record.name, settings.NBH_STOP_GRACE)
            backend.close(record)
            Container.objects.filter(pk=record.pk).update(state=State.STOPPED)
    except LeaseTimeout:
        log.info("kept %s: busy starting or stopping", record.name)
        return Stop.BUSY
    cull(record, Cull.Action.STOPPED, reason, idle_seconds)
    return Stop.STOPPED


def remove(record: Container, reason: str, *, wait: float = NO_WAIT, only_if_down: bool = True,
           backend: Backend | None = None) -> bool:
    """Removes the container; the next open creates a new one. With `only_if_down` (the monitor's
    removal of a stopped container), a container started again since the decision stays.
    Returns False when it stayed, or the pair was busy."""
    backend = backend or get_backend()
    try:
        with lease(record, wait=wait):
            info = backend.status(record.name)
            if only_if_down and info is not None and info.state.up:
                return False  # started again since the decision: not ours to remove any more
            _take_down(record, backend, info)
    except LeaseTimeout:
        return False
    cull(record, Cull.Action.REMOVED, reason)
    return True


def wipe(record: Container, reason: str, *, wait: float = STAFF_WAIT, backend: Backend | None = None) -> bool:
    """Removes the container, then deletes the workspace, all under the pair's lease so that no
    start runs in between. Returns whether there was a workspace to delete. Raises LeaseTimeout
    when the pair stays busy."""
    backend = backend or get_backend()
    with lease(record, wait=wait):
        info = backend.status(record.name)
        _take_down(record, backend, info)
        removed = workspace.remove(record.course, record.student)
    if info is not None:
        cull(record, Cull.Action.REMOVED, reason)
    return removed


def tidy(record: Container, backend: Backend | None = None) -> None:
    """After the engine lost or stopped a container behind our back: under the lease, and after
    asking the engine again (a start may be under way), its address goes, and with a container
    that is gone, everything of the server beside its row. A busy pair is left for next time."""
    backend = backend or get_backend()
    try:
        with lease(record, wait=NO_WAIT):
            info = backend.status(record.name)
            if info is None:
                backend.discard(record)
            elif not info.state.up:
                backend.close(record)
    except LeaseTimeout:
        pass


def restart(record: Container, reason: str, backend: Backend | None = None) -> Ready:
    """Stops the server if it runs, then starts it again (on the course's current image, when its
    container was stopped on an older one). Raises LeaseTimeout when the pair stays busy."""
    if stop(record, reason, wait=STAFF_WAIT, backend=backend) is Stop.BUSY:
        raise LeaseTimeout(f"{record.name} is busy starting or stopping; try again in a moment")
    return start(record, backend)


def remove_unknown(name: str, labels: dict[str, str], reason: str, backend: Backend | None = None) -> None:
    """A container with our instance label that our database does not know: no row, no lease."""
    backend = backend or get_backend()
    backend.remove(name)
    backend.discard_unknown(name)
    _record_cull(name, labels.get("nbhosting.course", ""), labels.get("nbhosting.student", ""),
                 Cull.Action.REMOVED, reason)


def remove_course_containers(course: Course, reason: str, *, force: bool,
                             backend: Backend | None = None) -> int:
    """Removes the course's containers, each under its pair's lease (workspaces stay); running
    ones only with `force`, else ContainersRunning before anything is touched. Containers that
    no row names (a lost row) go too. Returns how many were removed."""
    backend = backend or get_backend()
    infos = [i for i in backend.list(labels_of_course(course.name)) if "nbhosting.job" not in i.labels]
    running = [i.name for i in infos if i.state.up]
    if running and not force:
        raise ContainersRunning(f"{len(running)} container(s) of {course.name} are running; "
                                "use --force to stop them now")
    records = {r.name: r for r in Container.objects.filter(course=course).select_related("course", "student")}
    removed = 0
    for info in infos:
        record = records.get(info.name)
        if record is None:
            remove_unknown(info.name, info.labels, reason, backend)
            removed += 1
        elif remove(record, reason, wait=STAFF_WAIT, only_if_down=False, backend=backend):
            removed += 1
        else:
            raise BackendError(f"{record.name} stayed busy starting or stopping; try again in a moment")
    Container.objects.filter(course=course).exclude(name__in=[i.name for i in infos]).update(state=State.ABSENT)
    return removed


def renew_secret(record: Container, reason: str, backend: Backend | None = None) -> None:
    """Removes the server and gives it a new secret, under the lease: whoever knew its URL can no
    longer reach it, and an open under way cannot bring it back under the old one."""
    backend = backend or get_backend()
    with lease(record, wait=STAFF_WAIT):
        _take_down(record, backend, backend.status(record.name), secret=new_secret())
    cull(record, Cull.Action.REMOVED, reason)


def last_stop(record: Container) -> Cull | None:
    return Cull.objects.filter(container=record.name, action=Cull.Action.STOPPED).order_by("-time").first()
