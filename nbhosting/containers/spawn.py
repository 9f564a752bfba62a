"""Ensure that a (course, student) pair has a running Jupyter server, exactly once: what its
container is made of (spec), and the start itself, under the pair's lease.

containers/lifecycle.py is the door to this module for everyone else. Features that give a
course's containers more (nbgrader: its exchange, its configuration) register a spec extender
(register_spec_extender) from their app's ready(), so that this module knows none of them.
"""
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from nbhosting.containers import jupyter
from nbhosting.containers.backend import Backend, BackendError, ContainerInfo, ContainerSpec, Mount, ServerState, Tmpfs
from nbhosting.containers.backends import get_backend
from nbhosting.containers.lease import lease
from nbhosting.containers.models import Container
from nbhosting.courses.models import Course
from nbhosting.names import container_name
from nbhosting.sizes import parse_size
from nbhosting.workspaces.models import Student
from nbhosting.workspaces.workspace import COURSE_MOUNT
from nbhosting.workspaces.workspace import ensure as ensure_workspace

log = logging.getLogger(__name__)
# Which host folders a container mounts; a stopped container made with others is made anew.
FILES_LABEL = "nbhosting.files"
FILES_LAYOUT = "2"
State = Container.State


class SpawnError(RuntimeError):
    """The server could not be started; the cause is logged and nothing half-made is left."""


@dataclass(frozen=True)
class Extras:
    """What a feature adds to a course's containers."""
    mounts: list[Mount] = field(default_factory=list)
    tmpfs: list[Tmpfs] = field(default_factory=list)
    jupyter_args: list[str] = field(default_factory=list)


SpecExtender = Callable[[Course, Student], Extras]
_extenders: list[SpecExtender] = []


def register_spec_extender(extender: SpecExtender) -> None:
    """`extender(course, student)` is asked for its Extras each time a container is created."""
    if extender not in _extenders:
        _extenders.append(extender)


def extras(course: Course, student: Student) -> Extras:
    found = [extend(course, student) for extend in _extenders]
    return Extras(mounts=[m for e in found for m in e.mounts], tmpfs=[t for e in found for t in e.tmpfs],
                  jupyter_args=[a for e in found for a in e.jupyter_args])


@dataclass(frozen=True)
class Ready:
    container: Container
    cold: bool  # a container was created or started for this open
    seconds: float


def get_record(course: Course, student: Student) -> Container:
    record, _ = Container.objects.get_or_create(
        course=course, student=student, defaults={"name": container_name(course.name, student.name)}
    )
    return record


def labels_of_instance() -> dict[str, str]:
    return {"nbhosting.instance": settings.NBH_INSTANCE}


def labels_of_course(course: str) -> dict[str, str]:
    return {**labels_of_instance(), "nbhosting.course": course}


def labels(course: Course, student: Student) -> dict[str, str]:
    return {**labels_of_course(course.name), "nbhosting.student": student.name, FILES_LABEL: FILES_LAYOUT}


def spec(record: Container) -> ContainerSpec:
    course, student = record.course, record.student
    if student.uid is None:
        raise SpawnError(f"student {student.name} has no uid")
    extra = extras(course, student)
    return ContainerSpec(
        name=record.name,
        image=course.image_name,
        command=jupyter.command(
            record.base_url,
            [*extra.jupyter_args,
             *jupyter.kernel_culling(settings.NBH_CULL_KERNELS_AFTER, settings.NBH_CULL_KERNELS_INTERVAL)],
        ),
        uid=student.uid,
        gid=student.uid,  # each student is alone in their own group
        mounts=[
            Mount(ensure_workspace(course, student), jupyter.HOME),
            Mount(course.repo_dir, COURSE_MOUNT, read_only=True),
            Mount(record.socket_dir, os.path.dirname(jupyter.SOCKET_IN_CONTAINER)),
            Mount(record.config_dir, jupyter.CONFIG_IN_CONTAINER, read_only=True),
            *extra.mounts,
        ],
        tmpfs=[Tmpfs("/tmp", size=settings.NBH_TMP_SIZE), *extra.tmpfs],
        environment={"HOME": jupyter.HOME, "USER": student.name, "NBH_COURSE": course.name,
                     "JUPYTER_CONFIG_PATH": jupyter.CONFIG_IN_CONTAINER,
                     # Kernels' connection files: they still start when the workspace is full.
                     "JUPYTER_RUNTIME_DIR": jupyter.RUNTIME_IN_CONTAINER},
        labels=labels(course, student),
        network=course.network,
        memory=course.memory_limit,
        cpus=course.cpus_limit,
        pids=course.pids_limit,
        # Nothing the student writes lands on the host's disk but their workspace, within its quota.
        read_only=True,
        restrict_syscalls=True,
        # A kernel can write to the server's stdout, which podman keeps in a file on the host.
        log_size=parse_size(settings.NBH_LOG_SIZE),
    )


def ensure_running(course: Course, student: Student, backend: Backend | None = None) -> Ready:
    """The pair's server runs and answers when this returns; raises SpawnError or LeaseTimeout."""
    backend = backend or get_backend()
    started = time.monotonic()
    record = get_record(course, student)
    if record.state == State.RUNNING and backend.answers(record):
        return Ready(record, cold=False, seconds=time.monotonic() - started)
    with lease(record):
        record.refresh_from_db()
        # Another worker may have started it while we waited for the lease.
        if record.state == State.RUNNING and backend.answers(record):
            return Ready(record, cold=False, seconds=time.monotonic() - started)
        start_under_lease(record, backend)
    record.refresh_from_db()
    return Ready(record, cold=True, seconds=time.monotonic() - started)


def start_under_lease(record: Container, backend: Backend) -> None:
    """Starts or creates the container, then waits for Jupyter. The caller holds the pair's lease."""
    started = time.monotonic()
    try:
        image = backend.image_id(record.course.image_name)
        if image is None:
            raise SpawnError(f"image {record.course.image_name} does not exist; build it first")
        _launch(record, backend, image)
        _wait_ready(record, backend, deadline=started + settings.NBH_SPAWN_TIMEOUT)
    except (BackendError, SpawnError, OSError) as exc:
        log.error("spawn of %s failed: %s", record.name, exc)
        _discard(record, backend)
        raise SpawnError(str(exc)) from exc
    now = timezone.now()
    Container.objects.filter(pk=record.pk).update(state=State.RUNNING, image=image, started_at=now, last_open=now)
    log.info("started %s in %.2fs", record.name, time.monotonic() - started)


def _launch(record: Container, backend: Backend, image: str) -> None:
    info = backend.status(record.name)
    if info is not None and info.state.up:
        return  # running but not answering yet: it may be starting; wait for it
    if info is not None and _reusable(info, record, image):
        backend.prepare(record)
        backend.start(record.name)
        return
    # Absent, lost, made for another identity, on an outdated image, or by an older version with
    # other mounts: a new container picks up the course's image and today's mounts.
    if info is not None:
        backend.remove(record.name)
    backend.prepare(record)
    backend.create(spec(record))
    backend.start(record.name)


def _reusable(info: ContainerInfo, record: Container, image: str) -> bool:
    """A stopped container starts again only if it is what a new one would be: the course's image,
    today's mounts, and made for this identity (a pool server that a student claimed has mounts
    that name the pool's workspace path)."""
    return (info.state != ServerState.LOST and info.image_id == image
            and info.labels.get(FILES_LABEL) == FILES_LAYOUT
            and info.labels.get("nbhosting.student") == record.student.name)


def _wait_ready(record: Container, backend: Backend, deadline: float) -> None:
    if not backend.wait_ready(record, deadline):
        logs = backend.logs(record.name, lines=15)
        raise SpawnError(f"Jupyter in {record.name} did not answer in time; last output:\n{logs}")


def _discard(record: Container, backend: Backend) -> None:
    """After a failed start: remove whatever was made, so that the next open starts clean."""
    try:
        backend.remove(record.name)
    except BackendError as exc:
        log.error("cleanup of %s failed too: %s", record.name, exc)
    try:
        backend.discard(record)
    except (BackendError, OSError) as exc:
        log.error("cleanup of %s's files failed: %s", record.name, exc)
    Container.objects.filter(pk=record.pk).update(state=State.ABSENT)
