"""When podman or Jupyter fails: a readable 503 (at once, or on the progress page when the start
took longer than the open waits), the cause logged, nothing left to block the next try."""
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.helpers import follow_progress, new_student, open_link, open_notebook
from tests.stack import Stack

HANG_IMAGE = "localhost/nbhosting-test/hang:latest"


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
    assert not (stack.data / "run" / "containers" / f"{course}-x-{student}").exists()


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
