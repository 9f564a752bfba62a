"""nbgrader through the platform's exchange: real containers, real nbgrader, each command run as
the right uid in the right container, and every isolation and tamper check of the design."""
import csv
import io
import json
import os
import re
import secrets
import shutil
import subprocess

import pytest
import requests
import websocket

from tests import classroom
from tests.helpers import follow_progress
from tests.stack import DEMO, git, make_repo

# Container names are <course>-x-<student> on the host's one podman: unique course names keep
# two runs of this file (by two developers on one machine) apart.
RUN = secrets.token_hex(2)
COURSE = f"nbg{RUN}"
OTHER = f"nbgb{RUN}"
EXCHANGE = f"/srv/nbgrader/exchange/{COURSE}"
REFERER = {"Referer": "http://lms.example.org/course"}
PASSWORD = "s3cret-pass-phrase"
# The default image built from this tree's images/default (its terminals find nbgrader on PATH).
IMAGE = os.environ.get("NBH_DEFAULT_IMAGE", "localhost/nbhosting/default:latest")


def nbgrader_cell(source: str, **meta) -> dict:
    return {"cell_type": "code", "execution_count": None, "outputs": [], "source": source,
            "metadata": {"nbgrader": {"schema_version": 3, "task": False, **meta}}}


def assignment(function: str, body: str, test: str) -> dict:
    return {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": [
            nbgrader_cell(f"def {function}(a, b):\n    ### BEGIN SOLUTION\n    {body}\n    ### END SOLUTION",
                          grade=False, solution=True, locked=False, grade_id="answer"),
            nbgrader_cell(test, grade=True, solution=False, locked=True, points=2, grade_id="test"),
        ],
    }


PS1 = assignment("add", "return a + b", "assert add(1, 2) == 3")
# Its solution carries a mark that no student's file may ever show.
SOLUTION_MARK = "SOLUTION-MARK-4411"
PS2 = assignment("mul", f"return a * b  # {SOLUTION_MARK}", "assert mul(2, 3) == 6")


class Box:
    """One running container, and commands run in it as its own uid."""

    def __init__(self, stack, student: str, course: str = COURSE) -> None:
        self.name = f"{course}-x-{student}"
        self.uid = stack.query("SELECT uid FROM workspaces_student WHERE name = ?", student)[0][0]

    def run(self, *command: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            ["podman", "exec", "-i", "--user", f"{self.uid}:{self.uid}", "-w", "/home/jovyan", self.name, *command],
            input=stdin, capture_output=True, text=True, timeout=300)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(command)} in {self.name} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def start(self, *command: str) -> subprocess.Popen:
        """A process left running in the container, talked to through its stdin and stdout."""
        return subprocess.Popen(
            ["podman", "exec", "-i", "--user", f"{self.uid}:{self.uid}", "-w", "/home/jovyan", self.name, *command],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def nbgrader(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """As typed in a Jupyter terminal, which is a login shell: /etc/profile sets its PATH."""
        return self.run("sh", "-l", "-c", 'nbgrader "$@"', "nbgrader", *args, check=check)


def login(stack, username: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{stack.url}/staff/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
    answer = session.post(f"{stack.url}/staff/login/", timeout=30, allow_redirects=False,
                          data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert answer.status_code == 302, "login refused"
    return session


def make_user(stack, username: str) -> None:
    code = ("from django.contrib.auth.models import User; "
            f"User.objects.create_user({username!r}, password={PASSWORD!r})")
    stack.nbh("shell", "-c", code)


@pytest.fixture(scope="module")
def course(stack):
    repo = make_repo(stack.base / "nbgrader-repo")
    stack.course(COURSE, repo, "--trust", "legacy", "--image", IMAGE)
    stack.course(OTHER, repo, "--trust", "legacy", "--image", IMAGE)
    for name in (COURSE, OTHER):
        stack.nbh("course-nbgrader", name, "on", "--size-limit", "200k")
    for user in ("grader", "outsider", "grader2"):
        make_user(stack, user)
    stack.nbh("course-instructor-add", COURSE, "grader")
    stack.nbh("course-instructor-add", OTHER, "grader2")
    return COURSE


@pytest.fixture(scope="module")
def students(stack, course):
    """Alice and Bob open the course from the LMS: their containers run with the exchange."""
    for student in ("alice", "bob"):
        r = follow_progress(stack, requests.get(f"{stack.url}/notebookLazyCopy/{course}/intro/{student}",
                                                headers=REFERER, allow_redirects=False, timeout=300))
        assert r.status_code == 302 and r.headers["Location"].startswith("/c/"), r.text
    return Box(stack, "alice"), Box(stack, "bob")


@pytest.fixture(scope="module")
def teacher(stack, students):
    """The instructor opens the workspace through the site's login, as a person would."""
    session = login(stack, "grader")
    r = session.get(f"{stack.url}/instructor/{COURSE}/", allow_redirects=False, timeout=300)
    assert r.status_code == 302, r.text
    assert re.fullmatch(r"/c/[A-Za-z0-9_-]{43}/formgrader", r.headers["Location"])
    box = Box(stack, f"_instructors-{COURSE}")
    box.url = stack.url + r.headers["Location"].removesuffix("formgrader")
    return box


def inbound(stack) -> list[str]:
    """What waits for the check in every student's drop box (and in the old shared one)."""
    boxes = [stack.data / "exchange" / COURSE / "inbound",
             *(stack.data / "workspaces" / ".exchange" / COURSE).glob("*/inbound")]
    return sorted(p.name for box in boxes for p in box.iterdir())


def test_nbgrader_round_trip_with_isolation_and_tamper_checks(stack, students, teacher):
    alice, bob = students

    # 1. The instructor writes ps1 (one autograded cell) and releases it, with no flags.
    teacher.run("mkdir", "-p", f"{COURSE}/source/ps1")
    teacher.run("sh", "-c", f"cat > {COURSE}/source/ps1/ps1.ipynb", stdin=json.dumps(PS1))
    teacher.nbgrader("generate_assignment", "ps1")
    teacher.nbgrader("release_assignment", "ps1")
    assert "ps1" in teacher.run("ls", f"{EXCHANGE}/outbound").stdout

    # 2. Both students see it and fetch it; only Alice solves it; both submit.
    assert f"{COURSE} ps1" in alice.nbgrader("list").stderr + alice.nbgrader("list").stdout
    for box in (alice, bob):
        box.nbgrader("fetch_assignment", "ps1")
    notebook = alice.run("cat", "ps1/ps1.ipynb").stdout
    assert "raise NotImplementedError()" in notebook and "return a + b" not in notebook
    alice.run("sed", "-i", "s/raise NotImplementedError()/return a + b/", "ps1/ps1.ipynb")
    for box in (alice, bob):
        box.nbgrader("submit", "ps1")
    names = inbound(stack)
    assert [n.split("+")[0] for n in names] == ["alice", "bob"]  # recorded under their own ids

    # Students can never list inbound, read the feedback folder, or write outbound.
    assert bob.run("ls", f"{EXCHANGE}/inbound", check=False).returncode != 0
    assert bob.run("ls", f"{EXCHANGE}/feedback", check=False).returncode != 0
    assert bob.run("touch", f"{EXCHANGE}/outbound/x", check=False).returncode != 0
    assert bob.run("mkdir", f"{EXCHANGE}/outbound/ps2", check=False).returncode != 0
    assert bob.run("rm", "-rf", f"{EXCHANGE}/outbound/ps1", check=False).returncode != 0
    assert bob.run("mv", f"{EXCHANGE}/inbound/{names[0]}", f"{EXCHANGE}/inbound/x", check=False).returncode != 0
    assert bob.run("ls", f"{EXCHANGE}/accepted", check=False).returncode != 0
    assert "alice" not in bob.run("cat", "/etc/passwd").stdout  # nor anyone's id but his own

    # Spoof: Bob submits his (unsolved) notebook in Alice's name, after her.
    bob.nbgrader("submit", "ps1", "--student=alice")
    # Oversize: refused by nbgrader before anything lands in inbound ...
    bob.run("dd", "if=/dev/urandom", "of=ps1/big.bin", "bs=1000", "count=300")
    before = inbound(stack)
    refused = bob.nbgrader("submit", "ps1", check=False)
    assert refused.returncode != 0 and "Directory size is too big" in refused.stdout + refused.stderr
    assert inbound(stack) == before
    # ... and quarantined by the platform when a student bypasses nbgrader's own check.
    bob.nbgrader("submit", "ps1", "--CourseDirectory.max_dir_size=100000")
    bob.run("rm", "ps1/big.bin")
    assert len(inbound(stack)) == 4

    # The exchange check accepts the genuine submissions and quarantines the two others.
    report = stack.nbh("exchange-check", COURSE).stdout
    assert len(re.findall(rf"^{COURSE}: accepted (alice|bob)\+ps1\+", report, re.MULTILINE)) == 2, report
    assert re.search(r"QUARANTINED alice\+ps1\+.+: it names alice but was submitted by bob", report), report
    assert re.search(r"QUARANTINED bob\+ps1\+.+: it is over the course's size limit", report), report
    assert inbound(stack) == []
    why = teacher.run("sh", "-c", f"cat {COURSE}/quarantine/*.why").stdout
    assert "submitted by bob" in why and "size limit" in why

    # 3. Collect and autograde: Alice's own work is collected, not Bob's spoof; A scores more than B.
    collected = teacher.nbgrader("collect", "ps1")
    # collect's own owner check passes: the instructors' container names every student's uid.
    assert "Collecting submission: alice ps1" in collected.stderr
    assert "claims to be submitted by" not in collected.stdout + collected.stderr
    assert "return a + b" in teacher.run("cat", f"{COURSE}/submitted/alice/ps1/ps1.ipynb").stdout
    assert "return a + b" not in teacher.run("cat", f"{COURSE}/submitted/bob/ps1/ps1.ipynb").stdout
    teacher.nbgrader("autograde", "ps1")

    # Roster: a CSV import shows in the gradebook, beside the students who opened the course.
    roster = stack.base / "roster.csv"
    roster.write_text("id,first_name,last_name,email\nalice,Alice,Liddell,alice@example.org\n"
                      "carol,Carol,Kettle,carol@example.org\n")
    assert "1 student(s) added, 1 updated" in stack.nbh("course-roster-import", COURSE, str(roster)).stdout
    listing = teacher.nbgrader("db", "student", "list")
    text = listing.stdout + listing.stderr
    assert "alice (Liddell, Alice) -- alice@example.org" in text
    assert "carol (Kettle, Carol) -- carol@example.org" in text
    assert re.search(r"^bob \(None, None\)", text, re.MULTILINE), text
    students = requests.get(teacher.url + "formgrader/api/students", timeout=60).json()
    assert {s["id"] for s in students} == {"alice", "bob", "carol"}

    # Grades out: the right numbers per student.
    rows = list(csv.DictReader(io.StringIO(stack.nbh("course-grades", COURSE, "--csv").stdout)))
    scores = {r["student"]: r["score"] for r in rows if r["assignment"] == "ps1"}
    assert scores == {"alice": "2.0", "bob": "0.0", "carol": ""}
    assert all(r["max_score"] == "2.0" for r in rows)
    assert next(r for r in rows if r["student"] == "alice")["email"] == "alice@example.org"

    # 4. Feedback generated and released; 5. each student fetches their own, with their own score.
    teacher.nbgrader("generate_feedback", "ps1")
    teacher.nbgrader("release_feedback", "ps1")
    for box, score in ((alice, "2"), (bob, "0")):
        box.nbgrader("fetch_feedback", "ps1")
        html = box.run("sh", "-c", "cat ps1/feedback/*/ps1.html").stdout
        assert re.search(rf"Score:\s*{score}(\.0)?\s*/\s*2", html), html[:2000]
    assert bob.run("ls", f"{EXCHANGE}/feedback", check=False).returncode != 0


# Run by Alice in her own container: she submits, keeps a descriptor on her submission, and once the
# check has moved it to what the instructors collect, plants links to Bob's collected notebook and to
# the instructors' source through that descriptor.
KEEP_AND_PLANT = r"""
import glob, os, sys
course = sys.argv[1]
cache = os.path.expanduser(f"~/.local/share/jupyter/nbgrader_cache/{course}/alice+ps2+*")
name = os.path.basename(sorted(glob.glob(cache))[-1])
path = f"/srv/nbgrader/exchange/{course}/inbound/" + name
os.chmod(path, 0o700)  # for a moment: no one else may open it meanwhile
held = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
os.fchmod(held, 0o777)
print("held", name, flush=True)
sys.stdin.readline()  # the check runs now
planted = []
for entry, target in (("ps2.ipynb", f"/home/jovyan/{course}/submitted/bob/ps2/ps2.ipynb"),
                      ("solution.ipynb", f"/home/jovyan/{course}/source/ps2/ps2.ipynb")):
    try:
        try:
            os.unlink(entry, dir_fd=held)
        except FileNotFoundError:
            pass
        os.symlink(target, entry, dir_fd=held)
        planted.append(entry)
    except OSError as exc:
        print("refused", entry, exc.strerror, flush=True)
print("planted", " ".join(planted) or "nothing", flush=True)
"""


def test_a_submission_cannot_be_changed_after_the_check_accepted_it(stack, students, teacher):
    alice, bob = students
    teacher.run("mkdir", "-p", f"{COURSE}/source/ps2")
    teacher.run("sh", "-c", f"cat > {COURSE}/source/ps2/ps2.ipynb", stdin=json.dumps(PS2))
    teacher.nbgrader("generate_assignment", "ps2")
    teacher.nbgrader("release_assignment", "ps2")
    for box, mark in ((bob, "BOB-WORK-7731"), (alice, "ALICE-WORK-5512")):
        box.nbgrader("fetch_assignment", "ps2")
        box.run("sed", "-i", f"s/raise NotImplementedError()/return a * b  # {mark}/", "ps2/ps2.ipynb")
    # Bob's work is collected first: it is what Alice's link points to.
    bob.nbgrader("submit", "ps2")
    assert "accepted bob+ps2+" in stack.nbh("exchange-check", COURSE).stdout
    teacher.nbgrader("collect", "ps2")
    assert "BOB-WORK-7731" in teacher.run("cat", f"{COURSE}/submitted/bob/ps2/ps2.ipynb").stdout

    # Alice submits under a name she knows (nbgrader's cache shows it), then keeps her descriptor.
    alice.nbgrader("submit", "ps2", "--ExchangeSubmit.add_random_string=False")
    attack = alice.start("python3", "-u", "-c", KEEP_AND_PLANT, COURSE)
    try:
        said, _, name = attack.stdout.readline().rstrip("\n").partition(" ")  # the name holds spaces
        assert said == "held", said
        report = stack.nbh("exchange-check", COURSE).stdout
        assert f"accepted {name}\n" in report, report
        attack.stdin.write("go\n")
        attack.stdin.flush()
        planted = attack.communicate(timeout=120)[0]
    finally:
        attack.kill()

    # Collected as Alice's: her own notebook, nothing of Bob's, nothing of the source.
    collected = teacher.nbgrader("collect", "ps2")
    assert "Collecting submission: alice ps2" in collected.stderr, collected.stderr
    files = teacher.run("sh", "-c", f"cd {COURSE}/submitted/alice/ps2 && ls -A && cat *").stdout
    assert "ALICE-WORK-5512" in files
    assert "BOB-WORK-7731" not in files and SOLUTION_MARK not in files and "solution.ipynb" not in files

    # Her accepted submission is the instructors' and writable by them only.
    accepted = stack.data / "exchange" / COURSE / "accepted" / name
    for path in (accepted, *accepted.rglob("*")):
        info = path.lstat()
        assert (info.st_uid, info.st_mode & 0o022) == (teacher.uid, 0), path
    assert alice.run("ls", f"{EXCHANGE}/accepted", check=False).returncode != 0
    # Her descriptor reached only the original, removed once copied: nothing was planted anywhere.
    assert "planted nothing" in planted, planted


def in_terminal(server: str, command: str, timeout: float = 90) -> str:
    """Types a command in a real Jupyter terminal of the server, through nginx; returns the screen."""
    name = requests.post(server + "api/terminals", timeout=30).json()["name"]
    ws = websocket.create_connection(server.replace("http://", "ws://") + f"terminals/websocket/{name}",
                                     timeout=timeout, origin="/".join(server.split("/")[:3]))
    try:
        ws.send(json.dumps(["stdin", f"{command}; echo END-$((40+2))\r"]))
        screen = ""
        while "END-42" not in screen:
            kind, *payload = json.loads(ws.recv())
            screen += payload[0] if kind == "stdout" else ""
        return screen
    finally:
        ws.close()
        requests.delete(server + f"api/terminals/{name}", timeout=30)


def test_student_terminal_and_servers_get_the_nbgrader_of_their_role(stack, students, teacher):
    alice, _ = students
    secret = stack.query("SELECT secret FROM containers_container WHERE name = ?", alice.name)[0][0]
    student_url = f"{stack.url}/c/{secret}/"
    # Stock nbgrader, no flags, in a Jupyter terminal (a login shell): the released ps1 is listed.
    assert re.search(rf"{COURSE} ps1", in_terminal(student_url, "nbgrader list 2>&1"))
    assert requests.get(student_url + "formgrader", timeout=60).status_code == 404
    listed = requests.get(student_url + "assignments", params={"course_id": COURSE}, timeout=60)
    assert listed.status_code == 200 and listed.json()["success"]
    assert requests.get(teacher.url + "formgrader", timeout=60).status_code == 200


def test_instructor_signs_in_and_sees_the_roster_in_formgrader(stack, teacher):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page()
            page.goto(f"{stack.url}/instructor/{COURSE}/")
            assert "/accounts/login/" in page.url
            page.fill("#id_username", "grader")
            page.fill("#id_password", PASSWORD)
            page.click("button[type=submit]", no_wait_after=True)
            page.get_by_text("Manage Assignments").first.wait_for(timeout=120_000)
            assert re.fullmatch(r"http://[^/]+/c/[A-Za-z0-9_-]{43}/formgrader/manage_assignments", page.url)
            page.goto(page.url.replace("manage_assignments", "manage_students"), wait_until="domcontentloaded")
            page.get_by_text("Liddell").first.wait_for(timeout=60_000)
            assert "carol@example.org" in page.content()
        finally:
            browser.close()


def test_instructor_workspace_needs_an_instructor_of_that_course(stack, course, teacher):
    anonymous = requests.get(f"{stack.url}/instructor/{COURSE}/", allow_redirects=False, timeout=30)
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/accounts/login/")
    outsider = login(stack, "outsider").get(f"{stack.url}/instructor/{COURSE}/", timeout=30)
    assert outsider.status_code == 403 and "not an instructor" in outsider.text
    # An instructor of one course has nothing of another: no workspace, no mount.
    elsewhere = login(stack, "grader").get(f"{stack.url}/instructor/{OTHER}/", timeout=30)
    assert elsewhere.status_code == 403
    assert teacher.run("ls", f"/srv/nbgrader/exchange/{OTHER}", check=False).returncode != 0
    assert login(stack, "grader").get(f"{stack.url}/instructor/..%2Fx/", timeout=30).status_code in (400, 404)

    # A removed instructor loses the workspace, and the grading server's URL they knew.
    stack.nbh("course-instructor-add", COURSE, "grader2")
    known = login(stack, "grader2").get(f"{stack.url}/instructor/{COURSE}/", allow_redirects=False, timeout=300)
    assert known.headers["Location"] == teacher.url.removeprefix(stack.url) + "formgrader"
    stack.nbh("course-instructor-remove", COURSE, "grader2")
    assert requests.get(teacher.url + "api/status", timeout=30).status_code == 404
    assert login(stack, "grader2").get(f"{stack.url}/instructor/{COURSE}/", timeout=30).status_code == 403


def test_bad_admin_input_is_refused_with_one_clear_line(stack, course, tmp_path):
    cases = [
        (["course-nbgrader", "nope", "on"], "no course named nope"),
        (["course-nbgrader", COURSE, "--size-limit", "lots"], "invalid size 'lots'"),
        (["course-instructor-add", COURSE, "nobody-here"], "no user named nobody-here"),
        (["course-instructor-remove", COURSE, "outsider"], f"outsider is not an instructor of {COURSE}"),
        (["course-roster-import", COURSE, str(tmp_path / "missing.csv")], "cannot read"),
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text("id,email\nok,ok@example.org\n../etc,x@example.org\n")
    cases.append((["course-roster-import", COURSE, str(bad)], "line 3: invalid student id '../etc'"))
    for args, message in cases:
        proc = stack.nbh(*args, check=False)
        assert proc.returncode != 0 and message in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
    assert not stack.query("SELECT 1 FROM auth_user WHERE username = 'nobody-here'")


SOURCES = f"nbgsrc{RUN}"


@pytest.fixture(scope="module")
def course_with_sources(stack, course):
    """A course whose teachers keep nbgrader's source/ in its repository, and a link to it."""
    tree = stack.base / "with-sources"
    shutil.copytree(DEMO, tree)
    (tree / "source" / "ps2").mkdir(parents=True)
    (tree / "source" / "ps2" / "ps2.ipynb").write_text(json.dumps(PS2))
    repo = make_repo(stack.base / "with-sources-repo", tree)
    (repo / "peek").symlink_to("source/ps2")  # committed as a link (make_repo's copy follows links)
    git(repo, "add", "peek")
    git(repo, "commit", "-qm", "a link into the sources")
    stack.course(SOURCES, repo, "--trust", "legacy", "--image", IMAGE)
    stack.nbh("course-nbgrader", SOURCES, "on")
    stack.nbh("course-instructor-add", SOURCES, "grader")
    return SOURCES


def test_nbgrader_sources_stay_with_the_instructors(stack, course_with_sources):
    r = follow_progress(stack, requests.get(f"{stack.url}/notebookLazyCopy/{SOURCES}/intro/carl",
                                            headers=REFERER, allow_redirects=False, timeout=300))
    assert r.status_code == 302 and r.headers["Location"].startswith("/c/"), r.text
    carl = Box(stack, "carl", SOURCES)

    # In his container: the source folder and the history are empty, and no file shows a solution.
    for folder in ("/course/source", "/course/.git", "/course/peek/"):
        listed = carl.run("ls", "-A", folder, check=False)
        assert (listed.returncode, listed.stdout) in ((0, ""), (2, "")), (folder, listed)
    assert carl.run("git", "-C", "/course", "log", "--all", check=False).returncode != 0
    assert carl.run("touch", "/course/source/x", check=False).returncode != 0
    found = carl.run("grep", "-rIl", "-D", "skip", SOLUTION_MARK, "/course", "/home", "/srv", "/tmp", "/etc", "/run",
                     check=False)
    assert found.stdout == "", found.stdout
    # On the host, what runs as his uid (the workspace copier) cannot read them either.
    repo = stack.data / "courses" / SOURCES / "repo"
    for path in (repo / "source" / "ps2" / "ps2.ipynb", repo / ".git" / "HEAD"):
        peek = subprocess.run(["cat", str(path)], user=carl.uid, group=carl.uid, extra_groups=[],
                              capture_output=True)
        assert peek.returncode != 0 and b"Permission denied" in peek.stderr, path

    # Links into the sources, directly or through a link of the repository, are unknown notebooks.
    for notebook in ("source/ps2/ps2", "source/ps2/ps2.ipynb", "peek/ps2"):
        r = requests.get(f"{stack.url}/notebookLazyCopy/{SOURCES}/{notebook}/carl", headers=REFERER,
                         allow_redirects=False, timeout=60)
        assert r.status_code == 404 and "Unknown notebook" in r.text, notebook
    workspace = stack.data / "workspaces" / SOURCES / "carl"
    assert sorted(p.name for p in workspace.rglob("*.ipynb")) == ["intro.ipynb"]
    # Classroom mode would clone the history: refused with a page that says why, creating nothing.
    r = requests.get(f"{stack.url}/notebookGitRepo/{SOURCES}/intro/dora", headers=REFERER,
                     allow_redirects=False, timeout=60)
    assert r.status_code == 409 and "keeps nbgrader" in r.text, r.text[:500]
    assert not (stack.data / "workspaces" / SOURCES / "dora").exists()
    assert f"{SOURCES}-x-dora" not in stack.podman_names()
    # The classroom's pages, the other door, say the same.
    erin = classroom.session_for(stack, "erin", classroom.register(
        stack, SOURCES, [("erin", "Erin", "erin@example.org", "")])["erin"])
    for page in ("open/source/ps2/ps2", "nb/source/ps2/ps2", "open/peek/ps2"):
        r = erin.get(f"{stack.url}/course/{SOURCES}/{page}", allow_redirects=False, timeout=60)
        assert r.status_code == 404 and "Unknown notebook" in r.text, page
    stack.nbh("course-classroom", SOURCES, "--mode", "git")
    for page in ("open/intro", "nb/intro"):
        r = erin.get(f"{stack.url}/course/{SOURCES}/{page}", allow_redirects=False, timeout=60)
        assert r.status_code == 409 and "keeps nbgrader" in r.text, (page, r.status_code)
    stack.nbh("course-classroom", SOURCES, "--mode", "copy")
    assert not (stack.data / "workspaces" / SOURCES / "erin").exists()

    # The instructors have them, imported into their course directory, and release from them.
    r = login(stack, "grader").get(f"{stack.url}/instructor/{SOURCES}/", allow_redirects=False, timeout=300)
    assert r.status_code == 302, r.text
    instructors = Box(stack, f"_instructors-{SOURCES}", SOURCES)
    assert SOLUTION_MARK in instructors.run("cat", f"{SOURCES}/source/ps2/ps2.ipynb").stdout
    instructors.nbgrader("generate_assignment", "ps2")
    instructors.nbgrader("release_assignment", "ps2")
    carl.nbgrader("fetch_assignment", "ps2")
    assert SOLUTION_MARK not in carl.run("cat", "ps2/ps2.ipynb").stdout


# Run in a student's container: finds the mark in any file under a folder, and in git's objects
# (loose ones, and each zlib stream of a pack), through a descriptor opened before it is asked to.
FIND_MARK = r"""
import os, sys, zlib
mark = sys.argv[1].encode()
def texts(data):
    yield data
    for start in range(len(data)):
        if data[start] == 0x78 or start == 0:
            try:
                yield zlib.decompressobj().decompress(data[start:], 1 << 22)
            except zlib.error:
                pass
def scan(top):
    found = []
    for root, _, files, fd in os.fwalk(".", dir_fd=top):
        for name in files:
            try:
                with open(os.open(name, os.O_RDONLY, dir_fd=fd), "rb") as f:
                    data = f.read()
            except OSError as exc:
                continue
            if any(mark in text for text in texts(data)):
                found.append(os.path.join(root, name))
    return found
held = {path: os.open(path, os.O_RDONLY | os.O_DIRECTORY) for path in sys.argv[2:]}
print("held", flush=True)
sys.stdin.readline()  # the pull happens now
for path, fd in held.items():
    print("through", path, scan(fd), flush=True)
for path in sys.argv[2:]:
    try:
        top = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        print("fresh", path, exc.strerror, flush=True)
        continue
    print("fresh", path, scan(top), flush=True)
"""

LATE = f"nbglate{RUN}"


def test_sources_a_pull_brings_stay_hidden_from_running_containers(stack, course):
    """A course that had no sources: a student's server runs, a descriptor held on /course/.git
    and /course; the teacher commits sources and the course is pulled. Nothing of them is readable
    in the running container, then or after a pull that removes them and one that brings them back."""
    upstream = make_repo(stack.base / "late-repo")
    stack.course(LATE, upstream, "--trust", "legacy", "--image", IMAGE)
    stack.nbh("course-nbgrader", LATE, "on")
    r = follow_progress(stack, requests.get(f"{stack.url}/notebookLazyCopy/{LATE}/intro/gus",
                                            headers=REFERER, allow_redirects=False, timeout=300))
    assert r.status_code == 302, r.text
    gus = Box(stack, "gus", LATE)

    def watch() -> subprocess.Popen:
        watcher = gus.start("python3", "-u", "-c", FIND_MARK, SOLUTION_MARK, "/course/.git", "/course")
        assert watcher.stdout.readline() == "held\n"
        return watcher

    def seen(watcher: subprocess.Popen) -> str:
        watcher.stdin.write("go\n")
        watcher.stdin.flush()
        return watcher.communicate(timeout=300)[0]

    watcher = watch()
    try:
        (upstream / "source" / "ps2").mkdir(parents=True)
        (upstream / "source" / "ps2" / "ps2.ipynb").write_text(json.dumps(PS2))
        git(upstream, "add", "-A")
        git(upstream, "commit", "-qm", "the sources, with their solutions")
        stack.nbh("course-pull", LATE)
        report = seen(watcher)
    finally:
        watcher.kill()
    assert report.count("[]") == 4, report  # nothing found, through held descriptors or fresh opens
    assert gus.run("ls", "-A", "/course/source").stdout == ""

    # Removed by a pull, then brought back: the mask of /course/source holds throughout.
    git(upstream, "rm", "-rq", "source")
    git(upstream, "commit", "-qm", "sources out of the repository")
    stack.nbh("course-pull", LATE)
    (upstream / "source" / "ps2").mkdir(parents=True)
    (upstream / "source" / "ps2" / "ps2.ipynb").write_text(json.dumps(PS2))
    git(upstream, "add", "-A")
    git(upstream, "commit", "-qm", "the sources again")
    watcher = watch()
    try:
        stack.nbh("course-pull", LATE)
        report = seen(watcher)
    finally:
        watcher.kill()
    assert report.count("[]") == 4, report
    assert gus.run("ls", "-A", "/course/source").stdout == ""
    found = gus.run("grep", "-rIl", "-D", "skip", SOLUTION_MARK, "/course", check=False)
    assert found.stdout == "", found.stdout


FILL_INBOUND = "dd if=/dev/zero of={path} bs=1M count=40 conv=fsync 2>&1; echo exit=$?"


def test_a_student_cannot_fill_the_exchange(stack, students, teacher):
    """From inside Alice's container: 40 MB into the drop box, with a 5 MB exchange quota. Refused;
    nbgrader submit then says why, Bob still submits, and the check clears her box."""
    alice, bob = students
    applied = stack.nbh("course-nbgrader", COURSE, "--exchange-quota", "5m").stdout
    assert "exchange quota 5.0 MB per student, on 2 drop box(es)" in applied, applied
    written = alice.run("sh", "-c", FILL_INBOUND.format(path=f"{EXCHANGE}/inbound/filler")).stdout
    assert "Disk quota exceeded" in written and "exit=1" in written, written
    assert (stack.data / "workspaces" / ".exchange" / COURSE / "alice" / "inbound" / "filler").stat().st_size <= 5 << 20
    # Nothing of it reached the data root's disk, where the old drop box is.
    assert not (stack.data / "exchange" / COURSE / "inbound" / "filler").exists()

    refused = alice.nbgrader("submit", "ps1", check=False)
    assert refused.returncode != 0 and "Disk quota exceeded" in refused.stdout + refused.stderr, refused
    bob.nbgrader("submit", "ps1")
    report = stack.nbh("exchange-check", COURSE).stdout
    assert re.search(rf"^{COURSE}: accepted bob\+ps1\+", report, re.MULTILINE), report
    # Her filler is refused; in a box too full for even a rename, it is removed ...
    assert "QUARANTINED filler: it not a folder (removed: alice's drop box is full)" in report, report
    box = stack.data / "workspaces" / ".exchange" / COURSE / "alice"
    assert not (box / "inbound" / "filler").exists()
    subprocess.run(["sync", "-f", str(box)], check=True)  # btrfs counts the freed space at its commit
    # ... and she can submit again.
    alice.nbgrader("submit", "ps1")
    assert re.search(rf"^{COURSE}: accepted alice\+ps1\+", stack.nbh("exchange-check", COURSE).stdout, re.M)

    # Staff see each box's usage: Alice fills hers again, and the report shows it full.
    alice.run("sh", "-c", FILL_INBOUND.format(path=f"{EXCHANGE}/inbound/filler2"))
    subprocess.run(["sync", "-f", str(box)], check=True)
    usage = stack.nbh("quota-report", COURSE).stdout
    assert "exchange drop boxes: quota 5.0 MB per student" in usage
    usage = usage.split("exchange drop boxes")[1]
    alice_row = re.search(r"^alice\s+(\S+ \S+)\s+5\.0 MB\s+(\d+)%$", usage, re.M)
    assert alice_row and int(alice_row[2]) >= 90, usage


def test_turning_nbgrader_off_keeps_data_and_delete_archives_it(stack, course, teacher):
    stack.nbh("course-nbgrader", COURSE, "off", "--force")
    assert stack.podman_names() == [] or not any(n.startswith(f"{COURSE}-x-") for n in stack.podman_names())
    assert (stack.data / "exchange" / COURSE / "outbound" / "ps1" / "ps1.ipynb").is_file()
    assert (stack.data / "nbgrader" / COURSE / "gradebook.db").is_file()
    off = login(stack, "grader").get(f"{stack.url}/instructor/{COURSE}/", timeout=30)
    assert off.status_code == 404

    # What a student planted in their workspace; the archive is on another filesystem, so
    # course-delete copies instead of renaming, and must follow none of it.
    workspace = stack.data / "workspaces" / COURSE / "alice"
    (workspace / "etc").symlink_to("/etc")
    (workspace / "ps1" / "shadow").symlink_to("/etc/shadow")
    os.mkfifo(workspace / "ps1" / "pipe")
    for planted in ("etc", "ps1/shadow", "ps1/pipe"):
        os.lchown(workspace / planted, uid_of(stack, "alice"), uid_of(stack, "alice"))
    archive_root = stack.data / "archive"
    archive_root.mkdir(mode=0o700, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256m,mode=0700", "tmpfs", str(archive_root)], check=True)
    try:
        deleted = stack.nbh("course-delete", COURSE, "--force").stdout
        assert "1 special file(s) not archived: alice/ps1/pipe" in deleted, deleted
        archived = list(archive_root.glob(f"{COURSE}-*"))
        assert len(archived) == 1
        assert (archived[0] / "exchange" / "outbound" / "ps1").is_dir()
        assert (archived[0] / "nbgrader" / "gradebook.db").is_file()
        kept = archived[0] / "workspaces" / "alice"
        assert os.readlink(kept / "etc") == "/etc" and os.readlink(kept / "ps1" / "shadow") == "/etc/shadow"
        assert (kept / "ps1" / "ps1.ipynb").is_file() and not (kept / "ps1" / "pipe").exists()
        assert (kept / "ps1" / "ps1.ipynb").stat().st_uid == uid_of(stack, "alice")
        assert not (stack.data / "exchange" / COURSE).exists()
        assert not workspace.exists()
    finally:
        subprocess.run(["umount", "--lazy", str(archive_root)], check=True)


def uid_of(stack, student: str) -> int:
    return stack.query("SELECT uid FROM workspaces_student WHERE name = ?", student)[0][0]

