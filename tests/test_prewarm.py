"""nbh course-prewarm on a real stack: the named students' servers start (real podman containers
running Jupyter as each student's uid), and no one else's; a returning student's link goes
straight to their running server; a planned prewarm is run by the monitor when due."""
import shutil
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.helpers import SERVER_URL, new_student, open_link, open_notebook
from tests.jupyter_api import execute
from tests.stack import Stack, make_repo

COURSE = "warm"


@pytest.fixture(scope="module")
def stack():
    base = Path(tempfile.mkdtemp(prefix="nbh-test-prewarm-", dir="/var/tmp"))
    running = Stack(base).start()
    running.course(COURSE, make_repo(base / "repo"), "--trust", "legacy")
    roster = base / "roster.csv"
    roster.write_text("username,name,email,group\npwann,Ann,,A\npwbob,Bob,,A\npwcid,Cid,,B\npwdan,Dan,,\n")
    running.nbh("student-register", COURSE, str(roster), "--base-url", running.url)
    yield running
    running.stop()
    shutil.rmtree(base, ignore_errors=True)


def servers(stack) -> set[str]:
    """Students whose container runs."""
    return {name.split("-x-", 1)[1] for name in stack.podman_names()
            if stack.inspect(name)["State"]["Status"] == "running"}


def uid_of(stack, student: str) -> int:
    return stack.query("select uid from workspaces_student where name = ?", student)[0][0]


def opens_of(stack, student: str) -> int:
    return stack.query("select count(*) from stats_openevent where student = ?", student)[0][0]


def wait_for(condition, what: str, timeout: float = 300):
    """A hang guard, not a measured figure."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"{what} never happened"
        time.sleep(0.5)
    return value


def test_a_group_prewarm_starts_exactly_that_group(stack):
    before = servers(stack)
    done = stack.nbh("course-prewarm", COURSE, "--group", "A")
    assert f"{COURSE}: 2 started, 0 running already, 0 failed" in done.stdout, done.stdout
    assert servers(stack) - before == {"pwann", "pwbob"}
    for student in ("pwann", "pwbob"):
        config = stack.inspect(f"{COURSE}-x-{student}")["Config"]
        assert config["User"].split(":")[0] == str(uid_of(stack, student))
        assert opens_of(stack, student) == 0  # a prewarm is not the student's open


def test_bad_input_starts_nothing(stack, tmp_path):
    before = set(stack.podman_names())
    ids = tmp_path / "ids.txt"
    ids.write_text("pwdan\nnobody-here\n")
    for args, error in [(["--students", str(ids)], "1 id(s) unknown to warm: nobody-here"),
                        (["--students", str(tmp_path / "missing")], "cannot read"),
                        (["--group", "Z"], "no student of warm is in group 'Z'")]:
        refused = stack.nbh("course-prewarm", COURSE, *args, check=False)
        assert refused.returncode != 0 and error in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert set(stack.podman_names()) == before
    assert stack.query("select count(*) from starts_start where prewarm_id is not null and container_id in "
                       "(select id from containers_container where name = ?)", f"{COURSE}-x-pwdan")[0][0] == 0


def test_a_returning_student_finds_the_prewarmed_server_running(stack, tmp_path):
    student = new_student("pwlms")
    server, _ = open_notebook(stack, COURSE, "intro", student)
    stack.nbh("container-stop", COURSE, student)
    assert student not in servers(stack)
    ids = tmp_path / "ids.txt"
    ids.write_text(f"{student}\n")
    done = stack.nbh("course-prewarm", COURSE, "--students", str(ids))
    assert f"{student}: started" in done.stdout, done.stdout
    assert servers(stack) >= {student} and opens_of(stack, student) == 1
    again = open_link(stack, "notebookLazyCopy", COURSE, "intro", student)
    assert again.status_code == 302 and SERVER_URL.match(again.headers["Location"]), again.headers
    assert execute(server, "import os; print(os.getuid())").strip() == str(uid_of(stack, student))


def test_a_planned_prewarm_runs_when_due(stack):
    before = servers(stack)
    at = (datetime.now().astimezone() + timedelta(minutes=10)).isoformat(timespec="seconds")
    planned = stack.nbh("course-prewarm", COURSE, "--group", "B", "--at", at)
    plan = planned.stdout.split()[1]
    assert "pending" in planned.stdout and "1 student(s) of group B" in planned.stdout
    stack.nbh("monitor", "--once")  # not due yet
    assert stack.query("select state from starts_prewarm where id = ?", int(plan)) == [("pending",)]
    # Ten minutes pass, for the plan.
    stack.query("update starts_prewarm set at = datetime('now', '-1 minute') where id = ?", int(plan))

    def state() -> str:
        stack.nbh("monitor", "--once")
        return stack.query("select state from starts_prewarm where id = ?", int(plan))[0][0]

    wait_for(lambda: state() == "done", "the plan's run")
    assert servers(stack) - before == {"pwcid"}
    listed = stack.nbh("course-prewarm", "--list").stdout
    assert f"{plan}  {COURSE}" in listed and "done  1 student(s) of group B: 1 started" in listed, listed
