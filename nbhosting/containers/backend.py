"""The small interface between the platform and whatever runs containers (podman today).

In the spirit of JupyterHub's Spawner: the gateway and the monitor only ever talk to a Backend,
so another one (remote podman hosts, Kubernetes) can be added without touching them.
"""
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol


class BackendError(RuntimeError):
    """The container engine failed or did not answer in time."""


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
    # A seccomp profile file on the host; None: the engine's default.
    seccomp_profile: Path | None = None
    # The most bytes of output the engine keeps on the host's disk; None: no limit.
    log_size: int | None = None


# The engine says it runs, but its processes are gone: it can only be removed, and nothing is lost
# by that, since a container's root is read-only and the student's files are in their workspace.
STALE = "stale"


@dataclass(frozen=True)
class ContainerInfo:
    name: str
    state: str  # running, exited, created, stale, ...
    image_id: str
    created: datetime | None
    labels: dict[str, str] = field(default_factory=dict)
    pid: int = 0  # the container's init process on the host, 0 when not running
    finished: datetime | None = None  # when it last stopped, None when it never did

    @property
    def running(self) -> bool:
        return self.state == "running"


class Backend(Protocol):
    def status(self, name: str) -> ContainerInfo | None: ...

    def create(self, spec: ContainerSpec) -> ContainerInfo: ...

    def start(self, name: str) -> None: ...

    def stop(self, name: str, grace: int) -> None: ...

    def remove(self, name: str) -> None: ...

    def list(self, labels: dict[str, str]) -> list[ContainerInfo]: ...

    def image_id(self, image: str) -> str | None: ...

    def logs(self, name: str, lines: int = 20) -> str: ...

    def run(self, spec: ContainerSpec) -> str: ...
