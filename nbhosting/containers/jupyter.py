"""How a student's Jupyter server is started, and how we know it answers.

The server listens on a unix socket in a folder shared with nginx only; there is no TCP port.
Nobody connects through that folder, which the student can change: see server_files.py.
Its base URL carries the container's secret (/c/<secret>/), which is the whole access control:
Jupyter's token and XSRF checks both rely on cookies, which browsers block inside a cross-site
LMS iframe, and an attacker cannot forge a request to a URL they do not know.
"""
import http.client
import json
import socket
import time
from collections.abc import Callable, Container
from pathlib import Path
from typing import Any

SOCKET_IN_CONTAINER = "/run/nbh/jupyter.sock"
# Jupyter configuration the platform writes for one server: root's, mounted read-only.
CONFIG_IN_CONTAINER = "/run/nbh-config"
HOME = "/home/jovyan"
# On the container's /tmp tmpfs, not in the workspace, which may be full.
RUNTIME_IN_CONTAINER = "/tmp/jupyter-runtime"


def command(base_url: str, extra: list[str] | None = None) -> list[str]:
    return [
        "jupyter", "notebook", "--no-browser",
        f"--sock={SOCKET_IN_CONTAINER}",
        # nginx's workers reach the socket through its folder's group.
        "--ServerApp.sock_mode=0660",
        f"--ServerApp.base_url={base_url}",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        "--ServerApp.disable_check_xsrf=True",
        # The Host header is the site's public name; nginx is the only client of the socket.
        "--ServerApp.allow_remote_access=True",
        f"--ServerApp.root_dir={HOME}",
        # Signatures of trusted outputs in memory, not in a database in the workspace: a save at
        # the disk quota fails on the notebook itself, with "Disk quota exceeded", instead of on
        # the database ("database is locked"). Outputs are trusted again once run after a restart.
        "--NotebookNotary.db_file=:memory:",
        *(extra or []),
    ]


def kernel_culling(after: int, interval: int) -> list[str]:
    """Tier 1 of culling, done by Jupyter itself: kernels idle for `after` seconds are shut down,
    which frees most of a server's memory. A busy kernel, or one that a tab is connected to, is
    kept: its student is computing or reading."""
    return [
        f"--MappingKernelManager.cull_idle_timeout={after}",
        f"--MappingKernelManager.cull_interval={interval}",
        "--MappingKernelManager.cull_connected=False",
        "--MappingKernelManager.cull_busy=False",
    ]


def frontend_defaults(stop_url: str) -> dict[str, Any]:
    """Default settings for the notebook's frontend (JupyterLab's labconfig layer): items in the
    File menu for the platform's pages of this server: "Reset a notebook…" (the course's version
    again, the student's kept as a backup), "Share a read-only copy…" and "Stop my server". Each
    opens its page in a new tab, as JupyterHub's control panel does, so the notebook tab is left as
    it is. The pages are reached with the same secret as the stop page: /<page>/<secret>/."""
    def item(page: str, text: str, rank: int) -> dict[str, Any]:
        url = stop_url.replace("/stop/", f"/{page}/", 1)
        return {"command": "help:open", "rank": rank, "args": {"url": url, "text": text, "newBrowserTab": True}}

    items = [item("reset", "Reset a notebook to the course's version…", 97),
             item("share", "Share a read-only copy…", 98),
             item("stop", "Stop my server", 99)]
    return {"@jupyterlab/mainmenu-extension:plugin": {"menus": [{"id": "jp-mainmenu-file", "items": items}]}}


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = str(path)

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def get_json(sock: Path, url: str, timeout: float = 5.0) -> dict[str, Any] | list[Any] | None:
    """GET a Jupyter API URL over the socket; None when nothing answers there, or not with 200."""
    return _call(sock, "GET", url, None, timeout, success=(200,))


def request_json(sock: Path, method: str, url: str, body: dict[str, Any] | None = None,
                 timeout: float = 30.0) -> dict[str, Any] | list[Any] | None:
    """A Jupyter API request over the socket; None when nothing answers, or not with a success."""
    return _call(sock, method, url, body, timeout, success=range(200, 300))


def _call(sock: Path, method: str, url: str, body: dict[str, Any] | None, timeout: float,
          success: Container[int]) -> dict[str, Any] | list[Any] | None:
    connection = _UnixConnection(sock, timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        connection.request(method, url, body=data, headers={"Content-Type": "application/json"} if data else {})
        response = connection.getresponse()
        if response.status not in success:
            return None
        found: dict[str, Any] | list[Any] = json.loads(response.read())
        return found
    except (OSError, http.client.HTTPException, ValueError):
        return None
    finally:
        connection.close()


def answers(sock: Path, base_url: str, timeout: float = 5.0) -> bool:
    return get_json(sock, f"{base_url}api/status", timeout) is not None


def wait_ready(find: Callable[[], Path | None], base_url: str, deadline: float,
               alive: Callable[[], bool]) -> bool:
    """Waits until Jupyter answers on its socket. Under load a start can take many seconds, so
    rather than a short fixed timeout: cheap polls for the socket (`find()` gives the path to ask
    once there is one), then one request that is allowed to queue until the server's loop runs.
    `alive()` lets a dead container fail fast."""
    last_check = time.monotonic()
    while time.monotonic() < deadline:
        sock = find()
        if sock is not None:
            if answers(sock, base_url, timeout=max(1.0, min(30.0, deadline - time.monotonic()))):
                return True
            time.sleep(0.05)
        else:
            time.sleep(0.02)
        if time.monotonic() - last_check > 1.0:
            last_check = time.monotonic()
            if not alive():
                return False
    return False
