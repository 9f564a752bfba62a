"""Helpers shared by the container lifecycle tests."""
import subprocess
import time

from tests.helpers import open_notebook
from tests.stack import Stack


def server_of(stack: Stack, student: str, course: str = "life", notebook: str = "intro.ipynb") -> str:
    """Opens through the gateway like an LMS link; returns the server's base URL."""
    return open_notebook(stack, course, notebook, student)[0]


def name_of(student: str, course: str = "life") -> str:
    return f"{course}-x-{student}"


def db_state(stack: Stack, student: str, course: str = "life") -> str:
    return stack.query("SELECT state FROM containers_container WHERE name = ?", name_of(student, course))[0][0]


def podman_state(stack: Stack, name: str) -> str | None:
    proc = subprocess.run(["podman", "inspect", "--format", "{{.State.Status}}", name],
                          capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else None


def wait_until(condition, timeout: float, every: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False
