"""An in-process backend, for tests: no root, no podman, no nginx, no Jupyter, no sleeping.

Select it with the setting alone, NBH_BACKEND = "nbhosting.containers.fake.FakeBackend", and the
gateway, the monitor, the dashboard and the commands run on it unchanged. Its containers are
records in a dict; a "server" answers once it was started, prepared and waited for. Tests script
misbehaviour by the container's name, before the start:

    fake.misbehave(name, Misbehaviour.NEVER_ANSWERS)   # runs, never answers: the spawn times out
    fake.misbehave(name, Misbehaviour.DIES_AT_START)   # exits as soon as it is started
    fake.misbehave(name, Misbehaviour.SLOW_START, seconds=30)  # STARTING for 30 s of the deadline
    fake.misbehave(name, Misbehaviour.ENGINE_DOWN)     # every engine call on it raises BackendError

and drive the rest by hand: `exit(name)` (the server dies on its own), `forget(name)` (the
container disappears behind the platform's back), `lose(name)` (its processes are killed behind
the engine's back), `set_activity(name, Activity(...))`,
`add_image(tag)`. `calls` lists every call, in order, as (method, name), for assertions about
what ran under which conditions. Time never passes in a fake: a start whose readiness needs more
seconds than the deadline leaves it fails at once, as the real one would fail at the deadline.
"""
from __future__ import annotations  # the class has a method named list

import builtins
import enum
import hashlib
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING

from nbhosting.containers.backend import (
    Activity,
    Backend,
    BackendError,
    ContainerInfo,
    ContainerSpec,
    ImageBuild,
    ServerState,
)
from nbhosting.containers.models import Container


class Misbehaviour(enum.Enum):
    NEVER_ANSWERS = "never answers"
    DIES_AT_START = "dies at start"
    SLOW_START = "slow start"
    ENGINE_DOWN = "engine down"


@dataclass
class FakeContainer:
    spec: ContainerSpec
    image_id: str
    created: datetime
    state: ServerState = ServerState.STOPPED
    finished: datetime | None = None
    ready: bool = False  # the server answers at its address
    starts: int = 0

    def info(self) -> ContainerInfo:
        return ContainerInfo(name=self.spec.name, state=self.state, image_id=self.image_id, created=self.created,
                             labels=dict(self.spec.labels), finished=self.finished, detail=self.state.value)


@dataclass
class Script:
    misbehaviour: Misbehaviour
    seconds: float = 0.0


def _now() -> datetime:
    return datetime.now(timezone.utc)


def image_id_of(tag: str) -> str:
    return hashlib.sha256(tag.encode()).hexdigest()


@dataclass
class FakeBackend:
    containers: dict[str, FakeContainer] = field(default_factory=dict)
    images: dict[str, str] = field(default_factory=dict)
    scripts: dict[str, Script] = field(default_factory=dict)
    activity: dict[str, Activity] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    # Names whose address was prepared and not closed or discarded since: the server is reachable.
    prepared: set[str] = field(default_factory=set)
    # Every image exists unless a test says otherwise (add_image, images_exist = False).
    images_exist: bool = True
    lock: threading.RLock = field(default_factory=threading.RLock)

    # --- what tests drive ---------------------------------------------------------------------
    def misbehave(self, name: str, misbehaviour: Misbehaviour, seconds: float = 0.0) -> None:
        self.scripts[name] = Script(misbehaviour, seconds)

    def add_image(self, tag: str) -> str:
        self.images[tag] = image_id_of(tag + str(len(self.images)))
        return self.images[tag]

    def exit(self, name: str, when: datetime | None = None) -> None:
        """The server stops on its own (a crash, an out-of-memory kill)."""
        with self.lock:
            container = self.containers[name]
            container.state, container.finished, container.ready = ServerState.STOPPED, when or _now(), False

    def lose(self, name: str) -> None:
        """The container's processes are killed behind the engine's back: it says LOST, and only a
        removal gets rid of it (a start is refused, as podman refuses it)."""
        with self.lock:
            container = self.containers[name]
            container.state, container.ready = ServerState.LOST, False

    def forget(self, name: str) -> None:
        """The container disappears behind the platform's back."""
        with self.lock:
            self.containers.pop(name, None)

    def set_activity(self, name: str, activity: Activity) -> None:
        self.activity[name] = activity

    def age(self, name: str, created: datetime | None = None, finished: datetime | None = None) -> None:
        """Moves a container's times into the past, for the monitor's removal delays."""
        with self.lock:
            container = self.containers[name]
            container.created = created or container.created
            container.finished = finished or container.finished

    def called(self, method: str) -> list[str]:
        return [name for called, name in self.calls if called == method]

    def _call(self, method: str, name: str) -> None:
        self.calls.append((method, name))
        script = self.scripts.get(name)
        if script is not None and script.misbehaviour is Misbehaviour.ENGINE_DOWN:
            raise BackendError(f"fake {method} of {name}: the engine does not answer")

    # --- the engine ---------------------------------------------------------------------------
    def status(self, name: str) -> ContainerInfo | None:
        self._call("status", name)
        with self.lock:
            container = self.containers.get(name)
            return container.info() if container is not None else None

    def create(self, spec: ContainerSpec) -> ContainerInfo:
        self._call("create", spec.name)
        with self.lock:
            if spec.name in self.containers:
                raise BackendError(f"fake create: {spec.name} exists")
            image = self.image_id(spec.image)
            if image is None:
                raise BackendError(f"fake create: no image {spec.image}")
            self.containers[spec.name] = FakeContainer(spec=spec, image_id=image, created=_now())
            return self.containers[spec.name].info()

    def start(self, name: str) -> None:
        self._call("start", name)
        with self.lock:
            container = self._get(name)
            if container.state == ServerState.LOST:
                raise BackendError(f"fake start of {name}: its state is improper (lost)")
            container.starts += 1
            script = self.scripts.get(name)
            if script is not None and script.misbehaviour is Misbehaviour.DIES_AT_START:
                container.state, container.finished = ServerState.STOPPED, _now()
            elif script is not None and script.misbehaviour is Misbehaviour.SLOW_START:
                container.state = ServerState.STARTING
            else:
                container.state = ServerState.RUNNING

    def stop(self, name: str, grace: int) -> None:
        self._call("stop", name)
        with self.lock:
            container = self.containers.get(name)
            if container is not None and container.state.up:
                container.state, container.finished, container.ready = ServerState.STOPPED, _now(), False

    def remove(self, name: str) -> None:
        self._call("remove", name)
        with self.lock:
            self.containers.pop(name, None)

    def list(self, labels: Mapping[str, str]) -> list[ContainerInfo]:
        self.calls.append(("list", ""))
        with self.lock:
            return [c.info() for c in self.containers.values()
                    if all(c.spec.labels.get(k) == v for k, v in labels.items())]

    def logs(self, name: str, lines: int = 20) -> str:
        self._call("logs", name)
        with self.lock:
            container = self.containers.get(name)
        return "" if container is None else f"fake server {name}: {container.state.value}\n"

    def run(self, spec: ContainerSpec) -> str:
        self._call("run", spec.name)
        return ""

    def image_id(self, image: str) -> str | None:
        if image in self.images:
            return self.images[image]
        return image_id_of(image) if self.images_exist else None

    def build_image(self, build: ImageBuild, log: IO[str], timeout: int) -> str:
        self._call("build_image", build.tag)
        log.write(f"fake build of {build.tag} from {build.containerfile}\n")
        return self.add_image(build.tag)

    # --- the server's address -----------------------------------------------------------------
    def prepare(self, record: Container) -> None:
        self._call("prepare", record.name)
        with self.lock:
            container = self.containers.get(record.name)
            if container is not None and container.state.up:
                raise BackendError(f"fake prepare: {record.name} is running")  # the real one would wreck it
        self.prepared.add(record.name)

    def address(self, record: Container) -> Path:
        return Path("/fake-backend") / f"{record.secret}.sock"

    def wait_ready(self, record: Container, deadline: float) -> bool:
        self._call("wait_ready", record.name)
        with self.lock:
            container = self.containers.get(record.name)
            if container is None or not container.state.up or record.name not in self.prepared:
                return False
            script = self.scripts.get(record.name)
            if script is not None and script.misbehaviour is Misbehaviour.NEVER_ANSWERS:
                return False
            if script is not None and script.misbehaviour is Misbehaviour.SLOW_START:
                if time.monotonic() + script.seconds > deadline:
                    return False
                container.state = ServerState.RUNNING
            container.ready = True
            return True

    def answers(self, record: Container) -> bool:
        with self.lock:
            container = self.containers.get(record.name)
            return container is not None and container.state == ServerState.RUNNING and container.ready

    def close(self, record: Container) -> None:
        self._call("close", record.name)
        self.prepared.discard(record.name)

    def discard(self, record: Container) -> None:
        self._call("discard", record.name)
        self.prepared.discard(record.name)

    def discard_unknown(self, name: str) -> None:
        self._call("discard_unknown", name)
        self.prepared.discard(name)

    def sweep(self, records: Iterable[Container], infos: Mapping[str, ContainerInfo]) -> None:
        """What a server that is down or gone left: here, only its address."""
        for record in records:
            info = infos.get(record.name)
            if (info is None or not info.state.up) and record.name in self.prepared:
                self._call("sweep", record.name)
                self.prepared.discard(record.name)

    # --- activity -----------------------------------------------------------------------------
    def probe(self, servers: builtins.list[tuple[Container, ContainerInfo]]) -> dict[str, Activity]:
        found = {}
        for record, _ in servers:
            answered = self.answers(record)
            seen = self.activity.get(record.name, Activity(answered=True))
            found[record.name] = seen if answered else replace(seen, answered=False)
        return found

    # --- internals ------------------------------------------------------------------------------
    def _get(self, name: str) -> FakeContainer:
        container = self.containers.get(name)
        if container is None:
            raise BackendError(f"fake: no container {name}")
        return container

    def reachable(self, record: Container) -> bool:
        """Its address leads to the server: prepared, not closed or discarded since."""
        return record.name in self.prepared and self.answers(record)


if TYPE_CHECKING:  # mypy checks that the class implements the whole interface
    _implements: Backend = FakeBackend()
