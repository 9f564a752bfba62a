"""`nbh container-stop` and `nbh container-restart` on what staff meet in practice: a container
that was removed behind the platform's back (or culled), and the instructors' grading server."""
import subprocess

import requests

from tests.helpers import new_student, open_notebook
from tests.lifecycle import podman_state
from tests.stack import make_repo
from tests.test_nbgrader_exchange import login, make_user


def test_stop_and_restart_a_removed_container(stack, legacy_course):
    student = new_student()
    server, _ = open_notebook(stack, legacy_course, "intro", student)
    name = f"{legacy_course}-x-{student}"
    subprocess.run(["podman", "rm", "-f", "-t", "0", name], check=True, capture_output=True)

    for _ in range(2):  # the first finds it gone behind our back, the second finds it recorded absent
        proc = stack.nbh("container-stop", legacy_course, student, check=False)
        assert proc.returncode == 0, proc.stderr
        assert f"{name} is not running" in proc.stdout
    assert stack.query("SELECT state FROM containers_container WHERE name = ?", name) == [("absent",)]

    proc = stack.nbh("container-restart", legacy_course, student, check=False)
    assert proc.returncode == 0, proc.stderr
    assert podman_state(stack, name) == "running"
    assert requests.get(f"{server}api/status", timeout=30).status_code == 200


def test_stop_and_restart_the_instructors_container(stack):
    course = "cmds"
    stack.course(course, make_repo(stack.base / "cmds-repo"), "--trust", "legacy")
    stack.nbh("course-nbgrader", course, "on")
    make_user(stack, "cmds-grader")
    stack.nbh("course-instructor-add", course, "cmds-grader")
    opened = login(stack, "cmds-grader").get(f"{stack.url}/instructor/{course}/", allow_redirects=False, timeout=300)
    assert opened.status_code == 302, opened.text
    identity = f"_instructors-{course}"
    name = f"{course}-x-{identity}"
    assert podman_state(stack, name) == "running"

    proc = stack.nbh("container-stop", course, identity, check=False)
    assert proc.returncode == 0, proc.stderr
    assert podman_state(stack, name) == "exited"
    proc = stack.nbh("container-restart", course, identity, check=False)
    assert proc.returncode == 0, proc.stderr
    assert podman_state(stack, name) == "running"
    server = stack.url + opened.headers["Location"].removesuffix("formgrader")
    assert requests.get(f"{server}api/status", timeout=30).status_code == 200
