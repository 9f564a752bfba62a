"""A small Jupyter client for tests: the contents API and running code in a kernel over its websocket,
through nginx, exactly as a browser does."""
import requests

from nbhosting.kernel_run import run_code, run_in_kernel


def contents(server: str, path: str) -> dict:
    response = requests.get(f"{server}api/contents/{path}", timeout=30)
    response.raise_for_status()
    return response.json()


def execute(server: str, code: str, timeout: float = 60) -> str:
    """Starts a kernel, runs `code`, returns what it printed (stream output and results)."""
    return run_code(server, code, timeout)


def kernels_settled(server: str, timeout: float = 60) -> None:
    """Returns once every kernel of the server (the one the open started for the page, say) has
    finished starting, so that what a kernel writes as it starts (.ipython/) is written."""
    for kernel in requests.get(f"{server}api/kernels", timeout=30).json():
        run_in_kernel(server, kernel["id"], "pass", timeout)
