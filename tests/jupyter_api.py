"""A small Jupyter client for tests: the contents API and running code in a kernel over its websocket,
through nginx, exactly as a browser does."""
import requests

from nbhosting.kernel_run import run_code


def contents(server: str, path: str) -> dict:
    response = requests.get(f"{server}api/contents/{path}", timeout=30)
    response.raise_for_status()
    return response.json()


def execute(server: str, code: str, timeout: float = 60) -> str:
    """Starts a kernel, runs `code`, returns what it printed (stream output and results)."""
    return run_code(server, code, timeout)
