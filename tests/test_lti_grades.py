"""Grade passback, end to end: students and an instructor launch an nbgrader course from a real
LTI 1.3 platform (lti1p3platform, on 127.0.0.2); real nbgrader autogrades real submissions in
real containers; the platform receives each score with the right value and maximum (AGS), its
roster names the students in the gradebook (NRPS), failures are retried, recorded and reported,
and a new autograde reaches the LMS by itself."""
import csv
import io
import json
import os
import re
import subprocess
import time

import pytest
import requests

from tests.helpers import SERVER_URL, follow_progress
from tests.lti_platform import INSTRUCTOR, LEARNER, LaunchSpec, LmsSite
from tests.stack import NBH, make_repo
from tests.test_nbgrader_exchange import PS1

COURSE = "ltigrades"
EXCHANGE = "/srv/nbgrader/exchange"
IMAGE = os.environ.get("NBH_DEFAULT_IMAGE", "localhost/nbhosting/default:latest")
CONTEXT = "lms-course-1"


class Box:
    """One running container, and commands run in it as its own uid."""

    def __init__(self, stack, student: str) -> None:
        self.name = f"{COURSE}-x-{student}"
        self.uid = stack.query("SELECT uid FROM workspaces_student WHERE name = ?", student)[0][0]

    def run(self, *command: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run(["podman", "exec", "-i", "--user", f"{self.uid}:{self.uid}", "-w", "/home/jovyan",
                               self.name, *command], input=stdin, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, f"{' '.join(command)} in {self.name}:\n{proc.stdout}\n{proc.stderr}"
        return proc

    def nbgrader(self, *args: str) -> subprocess.CompletedProcess:
        return self.run("sh", "-l", "-c", 'nbgrader "$@"', "nbgrader", *args)


@pytest.fixture(scope="module")
def lms(stack):
    stack.course(COURSE, make_repo(stack.base / "lti-grades-repo"), "--image", IMAGE)
    stack.nbh("course-nbgrader", COURSE, "on")
    platform = LmsSite(stack.url, client_id="nbh-grades")
    stack.nbh(*platform.add_args(COURSE))
    stack.nbh("lti-context-add", platform.issuer, CONTEXT, COURSE)  # its teachers grade ours
    yield platform
    platform.stop()


def student_of(stack, lms, subject: str) -> str:
    return stack.query("SELECT s.name FROM accounts_externalidentity i JOIN workspaces_student s "
                       "ON s.id = i.student_id WHERE i.issuer = ? AND i.subject = ?", lms.issuer, subject)[0][0]


def received(lms) -> dict[str, tuple[float, float]]:
    """The latest score the platform holds per LMS user."""
    return {s["userId"]: (s["scoreGiven"], s["scoreMaximum"]) for s in lms.scores}


def test_nbgrader_scores_reach_the_lms(stack, lms):
    teacher = requests.Session()
    answer, _, _ = lms.launch(teacher, LaunchSpec("t-grace", INSTRUCTOR, {"course": COURSE, "mode": "instructor"}))
    assert answer.status_code == 302 and re.fullmatch(r"/c/[A-Za-z0-9_-]{43}/formgrader", answer.headers["Location"])
    for subject in ("s-alice", "s-bob"):
        spec = LaunchSpec(subject, LEARNER, {"course": COURSE, "notebook": "intro"})
        answer, _, _ = lms.launch(requests.Session(), spec)
        answer = follow_progress(stack, answer)  # the student's server runs: nbgrader runs in it below
        assert answer.status_code == 302 and SERVER_URL.match(answer.headers["Location"]), answer.text[:300]
    alice, bob = (student_of(stack, lms, s) for s in ("s-alice", "s-bob"))
    lms.members[CONTEXT] = [
        {"user_id": "s-alice", "roles": LEARNER, "given_name": "Alice", "family_name": "Liddell",
         "email": "alice@example.org"},
        {"user_id": "s-bob", "roles": LEARNER, "given_name": "Bob", "family_name": "Bell", "email": "bob@example.org"},
        {"user_id": "s-never", "roles": LEARNER, "given_name": "Nev", "family_name": "Er", "email": "n@example.org"},
    ]

    # nbgrader, as the course's staff and students use it.
    grader, alice_box, bob_box = Box(stack, f"_instructors-{COURSE}"), Box(stack, alice), Box(stack, bob)
    grader.run("mkdir", "-p", f"{COURSE}/source/ps1")
    grader.run("sh", "-c", f"cat > {COURSE}/source/ps1/ps1.ipynb", stdin=json.dumps(PS1))
    grader.nbgrader("generate_assignment", "ps1")
    grader.nbgrader("release_assignment", "ps1")
    for box in (alice_box, bob_box):
        box.nbgrader("fetch_assignment", "ps1")
    alice_box.run("sed", "-i", "s/raise NotImplementedError()/return a + b/", "ps1/ps1.ipynb")
    for box in (alice_box, bob_box):
        box.nbgrader("submit", "ps1")
    stack.nbh("exchange-check", COURSE)
    grader.nbgrader("collect", "ps1")
    grader.nbgrader("autograde", "ps1")

    # Push on demand; the platform's first score post fails, and the tool tries again.
    lms.fail_scores = 1
    pushed = stack.nbh("course-grades", COURSE, "--push")
    assert "2 scores sent to the LMS, 0 unchanged, 0 failed" in pushed.stderr
    assert received(lms) == {"s-alice": (2.0, 2.0), "s-bob": (0.0, 2.0)}
    items = list(lms.lineitems.values())
    assert len(items) == 1 and items[0]["scoreMaximum"] == 2.0 and items[0]["label"] == "ps1"
    assert all(s["gradingProgress"] == "FullyGraded" for s in lms.scores)
    attempts = stack.query("SELECT attempts, status FROM lti_scorepush WHERE context_id IS NOT NULL "
                           "AND course_id = (SELECT id FROM courses_course WHERE name = ?)", COURSE)
    assert sorted(attempts) == [(1, "sent"), (2, "sent")]

    # The LMS roster named the students in the gradebook (the one who never launched is not there).
    rows = list(csv.DictReader(io.StringIO(stack.nbh("course-grades", COURSE, "--csv").stdout)))
    names = {r["student"]: (r["first_name"], r["last_name"], r["email"]) for r in rows}
    assert names[alice] == ("Alice", "Liddell", "alice@example.org")
    assert names[bob] == ("Bob", "Bell", "bob@example.org")

    # Nothing changed: nothing is sent again, and one line item only.
    assert "0 scores sent to the LMS, 2 unchanged" in stack.nbh("course-grades", COURSE, "--push").stderr
    assert len(lms.scores) == 2 and len(lms.lineitems) == 1

    # The LMS fails every post: the failure is reported (non-zero exit) and recorded; grading goes on.
    lms.fail_scores = 100
    failed = stack.nbh("course-grades", COURSE, "--push", "--all", check=False)
    assert failed.returncode != 0 and "2 scores of ltigrades could not be sent to the LMS" in failed.stderr
    assert stack.query("SELECT COUNT(*) FROM lti_scorepush WHERE status = 'failed' AND attempts = 3 AND "
                       "course_id = (SELECT id FROM courses_course WHERE name = ?)", COURSE)[0][0] == 2
    lms.fail_scores = 0

    # The staff page shows what was sent and what failed; its button sends what changed.
    page = teacher.get(f"{stack.url}/lti/staff/course/{COURSE}/grades/", timeout=60)
    assert page.status_code == 200
    assert page.text.count('<tr class="sent">') == 2 and page.text.count('<tr class="failed">') == 2
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
    after = teacher.post(f"{stack.url}/lti/staff/course/{COURSE}/grades/push/", data={"csrfmiddlewaretoken": token},
                         headers={"Referer": page.url}, timeout=300)
    assert "0 scores sent, 2 unchanged, 0 failed" in after.text

    # A new autograde reaches the LMS by itself, through the exchange check's loop.
    said = stack.base / "exchange-check-loop.log"  # what the loop and its pushes said, for a failure
    loop = subprocess.Popen([NBH, "exchange-check", COURSE, "--every", "2"], env=stack.env(),
                            stdout=said.open("w"), stderr=subprocess.STDOUT)
    try:
        accepted = stack.data / "exchange" / COURSE / "accepted"
        before = set(os.listdir(accepted))
        bob_box.run("sed", "-i", "s/raise NotImplementedError()/return a + b/", "ps1/ps1.ipynb")
        bob_box.nbgrader("submit", "ps1")
        deadline = time.monotonic() + 120
        while not set(os.listdir(accepted)) - before:  # each student drops in a box of their own
            assert time.monotonic() < deadline, "the loop did not take the submission"
            time.sleep(1)
        collected = grader.nbgrader("collect", "--update", "ps1")
        assert "Updating submission" in collected.stdout + collected.stderr
        grader.nbgrader("autograde", "--force", "ps1")
        deadline = time.monotonic() + 180
        while received(lms).get("s-bob") != (2.0, 2.0):
            assert time.monotonic() < deadline, \
                f"bob's new score did not reach the LMS: {lms.scores}\n{said.read_text()}"
            time.sleep(1)
    finally:
        loop.terminate()
        loop.wait(timeout=30)
