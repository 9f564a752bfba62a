"""The notebook's kernel, started as part of the open, so that it is running when the page shows.

Once the student's server answers, and before the browser is sent to it, the platform asks the
server (through the backend's address for it, never the student's socket folder) for a Jupyter
session on the notebook's path, with the kernel named in the notebook's metadata. The notebook's
frontend looks for a session on its path before it starts a kernel, and attaches to this one:
the kernel's own start (most of it Python importing IPython) runs while the page loads.

Done before the redirect, so that the frontend cannot ask first and start a second kernel. The
request returns once the kernel's process is launched, not once it is ready: the cost to the
open is small. A failure costs nothing but the head start (the frontend starts a kernel itself).

Culling is unchanged: the kernel is an ordinary one of the server's, and one that nobody connects
to is shut down by Jupyter's idle-kernel culling (NBH_CULL_KERNELS_AFTER) like any other.
"""
import logging
import posixpath
from typing import Any
from urllib.parse import quote

from django.conf import settings

from nbhosting.containers import jupyter
from nbhosting.containers.backend import Backend
from nbhosting.containers.backends import get_backend
from nbhosting.containers.models import Container

log = logging.getLogger(__name__)
TIMEOUT = 30.0  # a loaded host's Jupyter may take seconds to launch a kernel


def kernel_name(content: dict[str, Any] | list[Any] | None) -> str | None:
    """The kernel the notebook asks for; None: the server's default."""
    if not isinstance(content, dict):
        return None
    spec = ((content.get("content") or {}).get("metadata") or {}).get("kernelspec") or {}
    name = spec.get("name") if isinstance(spec, dict) else None
    return name if isinstance(name, str) and name else None


def prestart(record: Container, path: str, backend: Backend | None = None) -> bool:
    """Starts a kernel for the notebook at `path` (relative to the server's root) unless one runs
    for it; True when one is there for the page. Never raises: the open goes on without it."""
    if not settings.NBH_KERNEL_PRESTART or not path.endswith(".ipynb"):
        return False
    try:
        sock = (backend or get_backend()).address(record)
        api = f"{record.base_url}api/"
        sessions = jupyter.request_json(sock, "GET", f"{api}sessions", timeout=TIMEOUT)
        if isinstance(sessions, list) and any(isinstance(s, dict) and s.get("path") == path for s in sessions):
            return True
        notebook = jupyter.request_json(sock, "GET", f"{api}contents/{quote(path)}?type=notebook&content=1",
                                        timeout=TIMEOUT)
        kernel = {"name": name} if (name := kernel_name(notebook)) else {}
        made = jupyter.request_json(sock, "POST", f"{api}sessions", timeout=TIMEOUT, body={
            "path": path, "type": "notebook", "name": posixpath.basename(path), "kernel": kernel})
    except Exception:  # the open must not fail for its head start
        log.exception("kernel pre-start for %s in %s failed", path, record.name)
        return False
    if not made:
        log.warning("kernel pre-start for %s in %s: the server refused", path, record.name)
    return bool(made)
