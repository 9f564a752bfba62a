"""The activity probe of a server on this host (the podman backend's): read from Jupyter itself, and
from the kernel's view of the server's socket in /proc.

The latest of these counts as the server's last activity:
- Jupyter's own last_activity (/api/status), which moves with every request a browser makes;
- each kernel's last_activity, and its execution state: a busy kernel is never idle;
- each terminal's last_activity;
- open connections: a tab that shows a notebook holds websockets even when nobody types, and
  that student is reading, not gone. "No kernel" is not idleness.
Our own requests carry no_track_activity, so that watching a server does not keep it alive.
"""
import os
from datetime import datetime
from pathlib import Path

from nbhosting.containers import jupyter
from nbhosting.containers.backend import Activity

UNTRACKED = "?no_track_activity=1"
# /proc/net/unix: a socket in state 03 (connected) named after the server's path is one accepted
# connection; the listening socket is in state 01.
CONNECTED = "03"


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def latest(*times: datetime | None) -> datetime | None:
    known = [t for t in times if t is not None]
    return max(known) if known else None


def accepted_connections() -> set[int]:
    """Inodes of the connections accepted on any student server's socket right now. An accepted
    unix socket lives in its client's network namespace (nginx's, the host's), named after the
    server's path, which is the same in every container: the owner tells them apart."""
    try:
        lines = Path("/proc/net/unix").read_text().splitlines()[1:]
    except OSError:
        return set()
    return {
        int(fields[6]) for fields in map(str.split, lines)
        if len(fields) >= 8 and fields[5] == CONNECTED and fields[7] == jupyter.SOCKET_IN_CONTAINER
    }


def _socket_inodes(pid: int) -> set[int]:
    inodes: set[int] = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def open_connections(pid: int, accepted: set[int]) -> int:
    """Connections held open to this container's server: websockets, mostly, since nginx closes
    plain requests to it once answered. `pid` is the container's init; Jupyter is its child."""
    if pid <= 0 or not accepted:
        return 0
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0
    held: set[int] = set()
    for child in (pid, *map(int, children)):
        held |= _socket_inodes(child)
    return len(held & accepted)


def probe(sock: Path, base_url: str, pid: int, accepted: set[int], timeout: float = 5.0) -> Activity:
    """`accepted` is accepted_connections(), read once for all servers before any of our own
    requests, which would otherwise count as connections."""
    connections = open_connections(pid, accepted)
    status = jupyter.get_json(sock, f"{base_url}api/status", timeout)
    if not isinstance(status, dict):
        return Activity(answered=False, connections=connections)
    kernels = jupyter.get_json(sock, f"{base_url}api/kernels{UNTRACKED}", timeout)
    terminals = jupyter.get_json(sock, f"{base_url}api/terminals{UNTRACKED}", timeout)
    kernels = kernels if isinstance(kernels, list) else []
    terminals = terminals if isinstance(terminals, list) else []
    busy = [k for k in kernels if k.get("execution_state") == "busy"]
    last = latest(
        parse_time(status.get("last_activity")),
        *(parse_time(k.get("last_activity")) for k in kernels),
        *(parse_time(t.get("last_activity")) for t in terminals),
    )
    connections = max(connections, int(status.get("connections") or 0))
    return Activity(
        answered=True, last_activity=last, kernels=len(kernels), busy_kernels=len(busy),
        terminals=len(terminals), connections=connections,
    )
