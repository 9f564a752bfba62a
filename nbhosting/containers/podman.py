"""The podman backend: every call to podman goes through here, over its REST socket, with a
timeout; the servers' host files (containers/server_files.py) and their activity probe
(containers/activity.py) are its own too. Only containers/backends.py imports this module."""
from __future__ import annotations  # the class has a method named list

import builtins
import functools
import logging
import os
import subprocess
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import podman
import podman.errors
import requests
from django.conf import settings

from nbhosting.containers import activity, jupyter, seccomp, server_files
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

log = logging.getLogger(__name__)
T = TypeVar("T")
CPU_PERIOD = 100_000
# The host's CA bundle, so that pip inside a build trusts the same proxies as the host.
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
# podman's words for its states. A paused container still holds its memory: it counts as running;
# a stopping one runs until it stopped.
STATES = {
    "running": ServerState.RUNNING, "paused": ServerState.RUNNING, "stopping": ServerState.RUNNING,
    "initialized": ServerState.STARTING,
    "exited": ServerState.STOPPED, "stopped": ServerState.STOPPED, "created": ServerState.STOPPED,
    "configured": ServerState.STOPPED,
}


def _engine_errors(method: Callable[..., T]) -> Callable[..., T]:
    """Turns whatever podman-py or the socket raises into one BackendError with the cause."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return method(*args, **kwargs)
        except (podman.errors.APIError, podman.errors.PodmanError, requests.RequestException, OSError) as exc:
            raise BackendError(f"podman {method.__name__} failed: {exc}") from exc

    return wrapper


def _time(value: Any) -> datetime | None:
    """podman gives times as RFC 3339 strings (inspect) or Unix seconds (list); year 1 means never."""
    if isinstance(value, str) and value and not value.startswith("0001-"):
        return datetime.fromisoformat(value[:26].rstrip("Z") + "+00:00")
    if isinstance(value, (int, float)) and value > 0:
        return datetime.fromtimestamp(value, timezone.utc)
    return None


def _state(state: ServerState, pid: int, conmon: int) -> ServerState:
    """podman keeps saying "running" when conmon and the container's processes were killed behind
    its back (a killed session, a crash whose /run outlived it). The REST service runs on this
    host, so /proc tells whether the processes it names still exist. A container whose process
    just died while its conmon lives is being cleaned up: podman's word holds. A listing does not
    name conmon: what it calls lost, a removal asks again (lifecycle.remove, under the lease)."""
    if state.up and pid > 0 and not _alive(pid) and not (conmon > 0 and _alive(conmon)):
        return ServerState.LOST
    return state


def _alive(pid: int) -> bool:
    return os.path.exists(f"/proc/{pid}")


def _info(container: Any) -> ContainerInfo:
    # Works on both shapes podman returns: inspect (State is a dict) and list (flat fields).
    attrs = container.attrs
    state = attrs.get("State")
    detail = state if isinstance(state, dict) else {}
    word = (detail.get("Status") if detail else state) or "unknown"
    pid = int(detail.get("Pid") or attrs.get("Pid") or 0)
    return ContainerInfo(
        name=container.name,
        state=_state(STATES.get(word, ServerState.UNKNOWN), pid, int(detail.get("ConmonPid") or 0)),
        detail=word,
        image_id=attrs.get("ImageID") or attrs.get("Image") or "",
        created=_time(attrs.get("Created")),
        labels=container.labels or {},
        handle=pid,
        finished=_time(detail.get("FinishedAt") if detail else attrs.get("ExitedAt")),
    )


def _text(output: Any) -> str:
    """podman-py gives logs as bytes or as an iterator of chunks, depending on its version."""
    if isinstance(output, (bytes, bytearray)):
        return output.decode(errors="replace")
    return b"".join(output).decode(errors="replace")


def _optional(spec: ContainerSpec) -> dict[str, Any]:
    """What podman gets only when the spec asks for it."""
    options: dict[str, Any] = {}
    if spec.restrict_syscalls:
        options["seccomp_profile_path"] = str(seccomp.profile_path())
    if spec.log_size:
        # A log file past its size starts over, so output cannot fill the host's disk.
        options["log_config"] = {"Type": "k8s-file", "Config": {"size": spec.log_size, "options": {}}}
    return options


class PodmanBackend:
    """One podman on this host, over its REST socket; the servers listen on unix sockets that
    nginx on this host reaches through root's checked hard links (containers/server_files.py)."""

    def __init__(self, url: str | None = None, timeout: int | None = None) -> None:
        self.url = url or settings.NBH_PODMAN_URL
        self.timeout = timeout or settings.NBH_PODMAN_TIMEOUT

    def _client(self) -> podman.PodmanClient:
        return podman.PodmanClient(base_url=self.url, timeout=self.timeout)

    @_engine_errors
    def status(self, name: str) -> ContainerInfo | None:
        with self._client() as client:
            try:
                return _info(client.containers.get(name))
            except podman.errors.NotFound:
                return None

    @_engine_errors
    def create(self, spec: ContainerSpec) -> ContainerInfo:
        with self._client() as client:
            container = client.containers.create(
                spec.image,
                command=spec.command,
                name=spec.name,
                user=f"{spec.uid}:{spec.gid}",
                labels=spec.labels,
                environment=spec.environment,
                mounts=[
                    {"type": "bind", "source": str(m.source), "target": m.target, "read_only": m.read_only}
                    for m in spec.mounts
                ] + [
                    {"type": "tmpfs", "source": "tmpfs", "target": t.target, "mode": t.mode, "size": t.size}
                    for t in spec.tmpfs
                ],
                network_mode="bridge" if spec.network else "none",
                cap_drop=["ALL"],
                no_new_privileges=True,
                mem_limit=spec.memory,
                cpu_period=CPU_PERIOD,
                cpu_quota=int(spec.cpus * CPU_PERIOD),
                pids_limit=spec.pids,
                read_only=spec.read_only,
                # podman's own /tmp, /var/tmp and /run tmpfs would have no size limit: the spec's
                # tmpfs list says what is writable, and how much.
                read_write_tmpfs=False,
                **_optional(spec),
                # podman's init (catatonit) reaps zombies and forwards `podman stop`'s SIGTERM.
                init=True,
            )
            container.reload()
            return _info(container)

    @_engine_errors
    def start(self, name: str) -> None:
        with self._client() as client:
            client.containers.get(name).start()

    @_engine_errors
    def stop(self, name: str, grace: int) -> None:
        """SIGTERM first, so Jupyter shuts its kernels down; SIGKILL after the grace period."""
        with self._client() as client:
            try:
                client.containers.get(name).stop(timeout=grace, ignore=True)
            except podman.errors.NotFound:
                pass

    @_engine_errors
    def remove(self, name: str) -> None:
        with self._client() as client:
            try:
                client.containers.remove(name, force=True)
            except podman.errors.NotFound:
                pass

    @_engine_errors
    def list(self, labels: Mapping[str, str]) -> list[ContainerInfo]:
        # Filtered here: podman 4.3's REST API ignores podman-py's label filters.
        with self._client() as client:
            infos = [_info(c) for c in client.containers.list(all=True)]
        return [i for i in infos if all(i.labels.get(k) == v for k, v in labels.items())]

    @_engine_errors
    def image_id(self, image: str) -> str | None:
        with self._client() as client:
            try:
                found: str = client.images.get(image).id
                return found.removeprefix("sha256:")
            except podman.errors.ImageNotFound:
                return None

    @_engine_errors
    def logs(self, name: str, lines: int = 20) -> str:
        with self._client() as client:
            try:
                output = client.containers.get(name).logs(tail=lines, stream=False)
            except podman.errors.NotFound:
                return ""
            return _text(output)

    def run(self, spec: ContainerSpec) -> str:
        """A one-shot container: runs the spec's command to its end, returns what it printed on
        stdout, and is removed whatever happens. A non-zero exit is a BackendError with stderr."""
        self.create(spec)
        try:
            return self._run_created(spec.name)
        finally:
            self.remove(spec.name)

    @_engine_errors
    def _run_created(self, name: str) -> str:
        with self._client() as client:
            container = client.containers.get(name)
            container.start()
            status = container.wait()
            output = _text(container.logs(stdout=True, stderr=False, stream=False))
            if status != 0:
                errors = _text(container.logs(stdout=False, stderr=True, stream=False))
                raise BackendError(f"{name} exited with {status}: {errors[-800:]}")
            return output


    def build_image(self, build: ImageBuild, log: IO[str], timeout: int) -> str:
        """`podman build` on the host's network, trusting the host's CA bundle."""
        command = ["podman", "build", "--network", "host",
                   "-v", f"{CA_BUNDLE}:{CA_BUNDLE}:ro", "--build-arg", f"PIP_CERT={CA_BUNDLE}"]
        for key, value in build.labels.items():
            command += ["--label", f"{key}={value}"]
        command += ["-f", str(build.containerfile), "-t", build.tag]
        if build.no_cache:
            command.append("--no-cache")
        command.append(str(build.context))
        log.write("$ " + " ".join(command) + "\n")
        log.flush()
        try:
            returncode = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=subprocess.STDOUT, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            raise BackendError(f"the build took more than {timeout}s and was stopped") from None
        except OSError as exc:
            raise BackendError(f"podman build could not run: {exc}") from exc
        if returncode != 0:
            raise BackendError(f"podman build failed (exit {returncode})")
        return self.image_id(build.tag) or ""

    # --- the server's address: root's hard link of its socket (server_files.py) ------------------
    @_engine_errors
    def prepare(self, record: Container) -> None:
        server_files.prepare(record)

    def address(self, record: Container) -> Path:
        return record.link

    def wait_ready(self, record: Container, deadline: float) -> bool:
        def alive() -> bool:
            info = self.status(record.name)
            return info is not None and info.state.up

        try:
            return jupyter.wait_ready(lambda: server_files.adopt(record), record.base_url, deadline, alive)
        except server_files.UntrustedSocket as exc:
            raise BackendError(str(exc)) from exc

    def answers(self, record: Container) -> bool:
        # Through the platform's link, never through the student's socket folder.
        return jupyter.answers(record.link, record.base_url, timeout=5)

    @_engine_errors
    def close(self, record: Container) -> None:
        server_files.close(record)

    @_engine_errors
    def discard(self, record: Container) -> None:
        server_files.discard(record)

    @_engine_errors
    def discard_unknown(self, name: str) -> None:
        # Its link goes with the sweep's leftovers: no row names its secret.
        server_files.discard_folders(name)

    @_engine_errors
    def sweep(self, records: Iterable[Container], infos: Mapping[str, ContainerInfo]) -> None:
        server_files.sweep(list(records), infos, self.status)

    # --- activity: Jupyter's API, and the connections the kernel sees in /proc ---------------------
    def probe(self, servers: builtins.list[tuple[Container, ContainerInfo]]) -> dict[str, Activity]:
        """Asks every server at once: a few slow ones must not add up to a slow cycle. The accepted
        connections are read once, before any of our own requests, which would count as some."""
        if not servers:
            return {}
        accepted = activity.accepted_connections()
        with ThreadPoolExecutor(max_workers=settings.NBH_MONITOR_PROBES) as pool:
            found = pool.map(lambda s: activity.probe(s[0].link, s[0].base_url, s[1].handle, accepted), servers)
            return {record.name: seen for (record, _), seen in zip(servers, found)}


if TYPE_CHECKING:  # mypy checks that the class implements the whole interface
    _implements: Backend = PodmanBackend()
