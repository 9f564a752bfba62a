"""The interface between the platform and whatever runs the students' servers (podman today).

Everything that depends on the container engine is behind it, so that another one (remote
podman hosts, Kubernetes) is an added module, chosen by the setting NBH_BACKEND and reached
through `nbhosting.containers.backends.get_backend()`, without a change to the gateway, the
monitor, the dashboard, the exchange or nginx's template. Nobody but that accessor imports a
backend's module.

A backend answers four kinds of question:

- the engine: `status`, `create`, `start`, `stop`, `remove`, `list`, `logs`, `run` (a one-shot
  container), `image_id` and `build_image`. States come back normalised (ServerState); the
  engine's own word stays in ContainerInfo.detail, for people only.
- the server's address: `prepare(record)` before a start, `address(record)` what nginx proxies
  /c/<secret>/ to and the platform reaches the server by, `wait_ready(record, deadline)` and
  `answers(record)` for readiness, `close(record)` after a stop, `discard(record)` and
  `discard_unknown(name)` after a remove, `sweep(...)` for what crashes and lost rows leave.
- activity: `probe(servers)`, each running server's kernels, terminals, open connections and
  last activity (an Activity), all at once.

Callers hold the pair's lease (containers/lease.py) around prepare, start, wait_ready, stop,
close, remove and discard; in practice they all go through containers/lifecycle.py. A Container
record (containers/models.py) is the platform's row for one (course, student) pair: its `name` is
the engine's name for the container, its `secret` the capability in the server's URL.

Every method raises BackendError, and only BackendError, when the engine fails or does not
answer in time.
"""
from __future__ import annotations  # the Protocol has a method named list

import builtins
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # the interface names the record type; only backends use its fields
    from nbhosting.containers.models import Container


class BackendError(RuntimeError):
    """The container engine failed, did not answer in time, or a server misbehaved (e.g. what it
    left as its socket cannot be trusted)."""


class ServerState(str, enum.Enum):
    """A container's state, the same words for every backend."""
    STARTING = "starting"  # asked to start, not running yet (a pod being scheduled, say)
    RUNNING = "running"  # its processes run and hold their memory (podman's paused counts too)
    STOPPED = "stopped"  # exists, nothing runs: created, exited; a start resumes it
    UNKNOWN = "unknown"  # the engine says something else (removing, a state it added later)
    # The engine says it runs but its processes are gone (killed behind its back, a crash whose
    # state outlived it): it can neither answer nor start again, only be removed. Nothing is lost
    # by that: a container's root is read-only and the student's files are in their workspace.
    LOST = "lost"

    @property
    def up(self) -> bool:
        """Counts as running: it holds resources, and must not be removed from under a start."""
        return self in (ServerState.STARTING, ServerState.RUNNING)


@dataclass(frozen=True)
class Mount:
    source: Path
    target: str
    read_only: bool = False


@dataclass(frozen=True)
class Tmpfs:
    """A small folder in memory, private to one container (e.g. a 1777 root to mount things under)."""
    target: str
    mode: str = "1777"
    size: str = "1m"


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    image: str
    command: list[str]
    uid: int
    gid: int
    mounts: list[Mount]
    environment: dict[str, str]
    labels: dict[str, str]
    network: bool = False
    memory: str = "1g"
    cpus: float = 1.0
    pids: int = 512
    tmpfs: list[Tmpfs] = field(default_factory=list)
    # A read-only root filesystem: what the container may write is its mounts and tmpfs only.
    read_only: bool = False
    # The platform's syscall filter for students (containers/seccomp.py: no quota-changing ioctls);
    # False: the engine's default filter.
    restrict_syscalls: bool = False
    # The most bytes of output the engine keeps on the host's disk; None: no limit.
    log_size: int | None = None


@dataclass(frozen=True)
class ContainerInfo:
    name: str
    state: ServerState
    image_id: str
    created: datetime | None
    labels: dict[str, str] = field(default_factory=dict)
    finished: datetime | None = None  # when it last stopped, None when it never did
    detail: str = ""  # the engine's own word for the state (podman: running, exited, created...)
    # The backend's own handle on the running container (podman: its init's pid on the host);
    # nobody else reads it.
    handle: int = 0

    @property
    def running(self) -> bool:
        return self.state == ServerState.RUNNING

    @property
    def said(self) -> str:
        """The state in the engine's own word when it gave one, for people."""
        return self.detail or self.state.value


@dataclass(frozen=True)
class ImageBuild:
    """A course image built from a Containerfile in the course's repo."""
    containerfile: Path
    context: Path
    tag: str
    labels: dict[str, str]
    no_cache: bool = False


@dataclass(frozen=True)
class Activity:
    """What a running server is doing, for the monitor's culling decisions."""
    answered: bool
    last_activity: datetime | None = None
    kernels: int = 0
    busy_kernels: int = 0
    terminals: int = 0
    connections: int = 0

    @property
    def in_use(self) -> bool:
        """Something is going on right now, however long ago the last request was."""
        return self.busy_kernels > 0 or self.connections > 0


class Backend(Protocol):
    # --- the engine -----------------------------------------------------------------------------
    def status(self, name: str) -> ContainerInfo | None:
        """None when there is no such container."""

    def create(self, spec: ContainerSpec) -> ContainerInfo: ...

    def start(self, name: str) -> None: ...

    def stop(self, name: str, grace: int) -> None:
        """SIGTERM (Jupyter shuts its kernels down), a kill after `grace` seconds. Absent: no error."""

    def remove(self, name: str) -> None:
        """Removes it, running or not. Absent: no error."""

    def list(self, labels: Mapping[str, str]) -> list[ContainerInfo]:
        """Every container, running or not, that carries all these labels."""

    def logs(self, name: str, lines: int = 20) -> str:
        """Its last output lines; "" for an absent container."""

    def run(self, spec: ContainerSpec) -> str:
        """A one-shot container: runs to its end, returns its stdout, is removed whatever happens.
        A non-zero exit is a BackendError carrying the end of its stderr."""

    def image_id(self, image: str) -> str | None:
        """The image's id (no sha256: prefix), None when there is no such image."""

    def build_image(self, build: ImageBuild, log: IO[str], timeout: int) -> str:
        """Builds and tags the image, streaming the build's output to `log`; returns its id."""

    # --- the server's address, under the pair's lease ---------------------------------------------
    def prepare(self, record: Container) -> None:
        """Before a create or a start: what the server needs beside its container (podman: a fresh
        socket folder, root's configuration folder, no link left from the last run)."""

    def address(self, record: Container) -> Path:
        """What nginx proxies /c/<secret>/ to and the platform reaches the server through (podman:
        root's checked hard link of the server's unix socket)."""

    def wait_ready(self, record: Container, deadline: float) -> bool:
        """Waits, until time.monotonic() passes `deadline`, for the server to answer at its
        address; False when it did not, or its container died. Raises BackendError when the
        server made its address untrustworthy."""

    def answers(self, record: Container) -> bool:
        """The server answers at its address now (the warm open's check)."""

    def close(self, record: Container) -> None:
        """After a stop: nothing reaches the server by its address any more."""

    def discard(self, record: Container) -> None:
        """After a remove (or a failed start): nothing of the server is left beside its row."""

    def discard_unknown(self, name: str) -> None:
        """After removing a container that no row names: what it left, found by its name."""

    def sweep(self, records: Iterable[Container], infos: Mapping[str, ContainerInfo]) -> None:
        """The monitor's cleaning pass: addresses and files of servers that are down or unknown
        (a crash, a lost row). `infos` is the engine's listing, by name, taken after `records`."""

    # --- activity -------------------------------------------------------------------------------
    def probe(self, servers: builtins.list[tuple[Container, ContainerInfo]]) -> dict[str, Activity]:
        """Each running server's activity, by container name, asked all at once; a server that
        does not answer gets Activity(answered=False)."""
