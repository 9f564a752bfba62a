"""When podman or Jupyter fails: a readable 503 (at once, or on the progress page when the start
took longer than the open waits), the cause logged, nothing left to block the next try."""
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.helpers import SERVER_URL, follow_progress, new_student, open_link, open_notebook
from tests.lifecycle import podman_state, wait_until
from tests.stack import Stack

HANG_IMAGE = "localhost/nbhosting-test/hang:latest"
SLOW_IMAGE = "localhost/nbhosting-test/slow:latest"


def no_container(stack, student: str) -> bool:
    return not [n for n in stack.podman_names() if n.endswith(f"-x-{student}")]


def test_missing_image_gives_503_then_recovers(stack, demo_repo):
    course = stack.course("noimage", demo_repo, "--trust", "legacy", "--image", "localhost/nbhosting-test/none:x")
    student = new_student()
    response = follow_progress(stack, open_link(stack, "notebookLazyCopy", course, "intro", student))
    assert response.status_code == 503
    assert "could not start" in response.text and "Your files are safe" in response.text
    assert no_container(stack, student)
    assert "image localhost/nbhosting-test/none:x does not exist" in (stack.base / "gunicorn.log").read_text()

    stack.nbh("course-update", course, "--image", "")
    open_notebook(stack, course, "intro", student)


def test_server_that_exits_is_cleaned_up(stack, demo_repo):
    # The base image has no Jupyter at all: the container exits at once.
    course = stack.course("nojupyter", demo_repo, "--trust", "legacy", "--image", "localhost/nbhosting/base:bookworm")
    student = new_student()
    response = follow_progress(stack, open_link(stack, "notebookLazyCopy", course, "intro", student))
    assert response.status_code == 503 and "<h1>" in response.text
    assert no_container(stack, student)
    assert not (stack.data / "run" / "servers" / f"{course}-x-{student}").exists()


@pytest.fixture(scope="module")
def hang_image():
    with tempfile.TemporaryDirectory() as context:
        Path(context, "Containerfile").write_text(
            "FROM localhost/nbhosting/base:bookworm\n"
            "RUN printf '#!/bin/sh\\nexec sleep 3600\\n' > /usr/local/bin/jupyter && chmod +x /usr/local/bin/jupyter\n")
        subprocess.run(["podman", "build", "-q", "-t", HANG_IMAGE, context], check=True, capture_output=True)
    return HANG_IMAGE


def test_server_that_never_answers_times_out_and_is_removed(hang_image, demo_repo):
    quick = Stack(Path(tempfile.mkdtemp(prefix="nbh-test-timeout-", dir="/var/tmp")), NBH_SPAWN_TIMEOUT="4").start()
    try:
        course = quick.course("hangs", demo_repo, "--trust", "legacy", "--image", hang_image)
        student = new_student()
        response = follow_progress(quick, open_link(quick, "notebookLazyCopy", course, "intro", student))
        assert response.status_code == 503
        assert no_container(quick, student)
        assert "did not answer in time" in (quick.base / "gunicorn.log").read_text()
        # The lease was released: the next try goes through the same path again, not a hang.
        assert follow_progress(quick, open_link(quick, "notebookLazyCopy", course, "intro", student)).status_code == 503
    finally:
        quick.stop()
        shutil.rmtree(quick.base, ignore_errors=True)


@pytest.fixture(scope="module")
def slow_image():
    """The default image, whose Jupyter waits while the course holds a `.slow` file."""
    with tempfile.TemporaryDirectory() as context:
        Path(context, "Containerfile").write_text(
            "FROM localhost/nbhosting/default:latest\nUSER root\n"
            "RUN mkdir /usr/local/slow && printf '#!/bin/sh\\nwhile [ -e /course/.slow ]; do sleep 0.2; done\\n"
            "exec /opt/jupyter/bin/jupyter \"$@\"\\n' > /usr/local/slow/jupyter && chmod 755 /usr/local/slow/jupyter\n"
            "ENV PATH=/usr/local/slow:/opt/jupyter/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
            "USER 65534\n")
        subprocess.run(["podman", "build", "-q", "-t", SLOW_IMAGE, context], check=True, capture_output=True)
    return SLOW_IMAGE


def test_a_worker_killed_mid_start_is_taken_over(slow_image, demo_repo):
    """The worker starting a server dies (SIGKILL) while Jupyter is slow to come up: its start is
    queued again and the pair's lease taken over at once, instead of waiting for the lease to
    expire. Spawns may take 600 s here, so the lease lasts 660 s, far beyond the wait below; one
    start at a time, so the dead worker's slot must come back too."""
    slow = Stack(Path(tempfile.mkdtemp(prefix="nbh-test-killed-", dir="/var/tmp")), NBH_SPAWN_TIMEOUT="600",
                 NBH_START_CONCURRENCY="1").start()
    try:
        course = slow.course("slow", demo_repo, "--trust", "legacy", "--image", slow_image)
        student = new_student()
        name = f"{course}-x-{student}"
        gate = slow.data / "courses" / course / "repo" / ".slow"
        gate.touch()
        first = follow_progress(slow, open_link(slow, "notebookLazyCopy", course, "intro", student), timeout=0)
        assert first.status_code == 200  # the progress page: the start runs in a worker's thread
        assert wait_until(lambda: podman_state(slow, name) == "running" and slow.query(
            "SELECT lease_owner FROM containers_container WHERE name = ?", name) != [("",)], 120)
        # Mid-start: every worker of the gunicorn master dies; the master forks new ones.
        master = slow.procs[0].pid
        workers = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
        assert workers
        for pid in workers:
            subprocess.run(["kill", "-s", "KILL", pid], check=True)
        gate.unlink()
        response = follow_progress(slow, open_link(slow, "notebookLazyCopy", course, "intro", student), timeout=120)
        assert response.status_code == 302 and SERVER_URL.match(response.headers["Location"]), response.text[:300]
        assert "whose process is gone" in (slow.base / "gunicorn.log").read_text()
        assert podman_state(slow, name) == "running"
    finally:
        slow.stop()
        shutil.rmtree(slow.base, ignore_errors=True)


def test_a_server_whose_processes_were_killed_is_made_again(stack, demo_repo):
    """conmon and Jupyter killed behind podman's back (a killed session, a crash whose /run
    survived): podman still says running. The next open removes that husk and starts a new server
    on the same workspace, with the student's files."""
    course = stack.course("husk", demo_repo, "--trust", "legacy")
    student = new_student()
    name = f"{course}-x-{student}"
    open_notebook(stack, course, "intro", student)
    mine = stack.data / "workspaces" / course / student / "intro.ipynb"
    kept = mine.read_text()
    pids = subprocess.run(["podman", "inspect", "-f", "{{.State.ConmonPid}} {{.State.Pid}}", name],
                          capture_output=True, text=True, check=True).stdout.split()
    for pid in pids:
        subprocess.run(["kill", "-s", "KILL", pid], check=True)
    assert wait_until(lambda: not Path(f"/proc/{pids[1]}").exists(), 10)
    assert podman_state(stack, name) == "running"  # what podman believes

    open_notebook(stack, course, "intro", student)
    assert podman_state(stack, name) == "running"
    new_pid = subprocess.run(["podman", "inspect", "-f", "{{.State.Pid}}", name],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert new_pid != pids[1] and Path(f"/proc/{new_pid}").exists()
    assert mine.read_text() == kept
