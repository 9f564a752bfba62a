"""The dashboard against a real stack (gunicorn, nginx, podman, git). In a real browser: log in as
course staff, see the course, pull from git and watch the job finish, stop a student's container,
read the statistics. Over HTTP: the other container and image actions."""
import secrets
import subprocess
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
from playwright.sync_api import sync_playwright

from tests.helpers import open_notebook
from tests.stack import ROOT, git, make_repo

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def dashboard_course(stack):
    """A legacy-link course run by `teacher`, with one student who opened a notebook for real,
    and some older activity and monitor samples so that every figure has data."""
    name = "dash-" + secrets.token_hex(3)
    repo = make_repo(stack.base / f"{name}-repo")
    stack.course(name, repo, "--trust", "legacy")
    password = stack.base / "teacher-password"
    password.write_text("teacher-" + secrets.token_hex(8))
    stack.nbh("staff-create", "teacher", "--course", name, "--password-file", str(password))
    response = requests.get(f"{stack.url}/notebookLazyCopy/{name}/intro.ipynb/student1",
                            headers={"Referer": "http://lms.example.org/unit/1"}, allow_redirects=False, timeout=300)
    assert response.status_code == 302, response.text
    now = datetime.now(timezone.utc)
    for day in range(1, 6):
        for n in range(day):
            at = (now - timedelta(days=day, hours=n)).strftime("%Y-%m-%d %H:%M:%S")
            stack.query("INSERT INTO stats_openevent (time, course, student, notebook, action, cold, seconds) "
                        "VALUES (?, ?, ?, ?, 'existing', 0, ?)",
                        at, name, f"old{n}", "w1/1.2-intro.ipynb", 0.2 * (n + 1))
        for scope in (name, ""):
            stack.query("INSERT INTO stats_usagesample (time, course, containers, kernels, busy_kernels, workspaces, "
                        "load1, mem_free, disk_free) VALUES (?, ?, ?, ?, 0, 5, ?, ?, ?)",
                        (now - timedelta(days=day)).strftime("%Y-%m-%d %H:%M:%S"), scope, day, day + 1,
                        None if scope else 0.5 * day, None if scope else 2**32, None if scope else 2**36)
    stack.nbh("stats-rebuild", "--course", name)  # the daily rollup of the back-dated events
    return name, repo, password.read_text()


def test_staff_runs_the_course_in_a_browser(stack, dashboard_course):
    name, repo, password = dashboard_course
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            # 1. The course page sends to the login form; staff log in and land on it.
            page.goto(f"{stack.url}/staff/course/{name}/")
            assert "/staff/login/" in page.url
            page.fill("#id_username", "teacher")
            page.fill("#id_password", password)
            page.click("button[type=submit]")
            page.wait_for_url(f"**/staff/course/{name}/")

            # 2. Notebooks with their metadata; the student's container as podman sees it.
            assert page.inner_text(".notebook[data-path='intro.ipynb'] + .title") == "Welcome"
            assert page.inner_text("tr[data-student='student1'] td.state") == "running"

            # 3. A new commit upstream; "Pull from git now" runs in the background, the page follows it.
            (repo / "week2.md").write_text("# Week 2\n")
            git(repo, "add", "-A")
            git(repo, "commit", "-qm", "week 2")
            head = git(repo, "rev-parse", "HEAD").strip()
            page.click("#pull")
            page.wait_for_url("**/jobs/*/")
            page.wait_for_function("document.getElementById('job-state').textContent === 'done'", timeout=120_000)
            assert head[:12] in page.inner_text("#job-log")
            assert "week2.md" in page.inner_text("#job-log")
            page.screenshot(path=str(ARTIFACTS / "dashboard-pull-job.png"), full_page=True)

            # The job's log stays: the course page lists it, and its page shows it again.
            page.goto(f"{stack.url}/staff/course/{name}/")
            assert page.locator("#jobs .state-done").count() == 1
            assert page.locator(".notebook[data-path='week2.md']").count() == 1

            # 4. Stop the student's container from the students table.
            page.click("tr[data-student='student1'] form[action$='/stop/'] button")
            page.wait_for_selector(".messages li.success")
            assert page.inner_text("tr[data-student='student1'] td.state") == "exited"
            page.screenshot(path=str(ARTIFACTS / "dashboard-course.png"), full_page=True)

            # 5. The statistics: every figure drawn by the locally served plotly.js.
            page.click("text=Statistics")
            page.wait_for_url("**/stats/")
            plots = page.locator(".plot")
            count = plots.count()
            assert count == 8
            page.wait_for_function(f"document.querySelectorAll('.plot.rendered').length === {count}", timeout=60_000)
            assert page.locator(".plot .main-svg").count() >= count
            assert page.locator("#figure-students .scatterlayer .trace").count() == 3
            assert page.locator("#figure-heatmap .hm, #figure-heatmap image").count() >= 1
            assert page.locator("#figure-host .scatterlayer .trace").count() == 3
            page.screenshot(path=str(ARTIFACTS / "dashboard-stats.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert stack.podman_names()  # the stopped container is kept (stopped, not removed)
    state = stack.query("SELECT state FROM containers_container WHERE name = ?", f"{name}-x-student1")
    assert state == [("stopped",)]


def logged_in(stack, password: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{stack.url}/staff/login/", timeout=30)
    response = session.post(f"{stack.url}/staff/login/", timeout=30, allow_redirects=False, data={
        "username": "teacher", "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]})
    assert response.status_code == 302
    return session


def post(stack, session: requests.Session, path: str, **data) -> requests.Response:
    return session.post(f"{stack.url}{path}", data={"csrfmiddlewaretoken": session.cookies["csrftoken"], **data},
                        allow_redirects=False, timeout=300)


def wait_job(stack, session: requests.Session, job_url: str) -> dict:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        progress = session.get(f"{stack.url}{job_url.rstrip('/')}.json", timeout=30).json()
        if not progress["active"]:
            return progress
        time.sleep(0.5)
    raise AssertionError(f"{job_url} did not finish")


def container_of(stack, location: str) -> tuple[str, int]:
    """The container name and uid behind a /c/<secret>/ redirect."""
    secret = location.split("/")[2]
    return stack.query("SELECT c.name, s.uid FROM containers_container c JOIN workspaces_student s "
                       "ON s.id = c.student_id WHERE c.secret = ?", secret)[0]


def test_staff_actions_never_touch_a_students_work(stack, dashboard_course):
    """Course staff may edit the staff list: a student's id put there, or a dashboard account
    named like a student, must not reach that student's workspace; nor may staff's own links."""
    name, _, password = dashboard_course
    session = logged_in(stack, password)
    course = f"/staff/course/{name}"
    victim = "victim" + secrets.token_hex(3)
    open_notebook(stack, name, "intro.ipynb", victim)
    victim_ws = stack.data / "workspaces" / name / victim
    assert (victim_ws / "intro.ipynb").is_file()

    # My workspace is the staff member's own, not a student's of the same name.
    twin_password = stack.base / "twin-password"
    twin_password.write_text("twin-" + secrets.token_hex(8))
    stack.nbh("staff-create", victim, "--course", name, "--password-file", str(twin_password))
    twin = requests.Session()
    twin.get(f"{stack.url}/staff/login/", timeout=30)
    twin.post(f"{stack.url}/staff/login/", timeout=30, allow_redirects=False, data={
        "username": victim, "password": twin_password.read_text(), "csrfmiddlewaretoken": twin.cookies["csrftoken"]})
    response = post(stack, twin, f"{course}/my-workspace/")
    assert response.status_code == 302
    twin_container, _ = container_of(stack, response.headers["Location"])
    assert twin_container != f"{name}-x-{victim}"

    # The teacher's own workspace holds links to the student's work, made from inside its container.
    response = post(stack, session, f"{course}/my-workspace/")
    assert response.status_code == 302
    teacher_container, teacher_uid = container_of(stack, response.headers["Location"])
    subprocess.run(["podman", "exec", "--user", f"{teacher_uid}:{teacher_uid}", teacher_container, "sh", "-c",
                    f"ln -s {victim_ws} /home/jovyan/theirs && ln -s {victim_ws}/intro.ipynb /home/jovyan/nb"],
                   check=True, capture_output=True)

    # The student's id in the staff list, then "clear staff work".
    response = post(stack, session, f"{course}/settings/", branch="", staff=f"teacher {victim}", trust="legacy",
                    referers="")
    assert response.status_code == 302
    assert post(stack, session, f"{course}/clear-staff-work/").status_code == 302
    assert (victim_ws / "intro.ipynb").is_file()
    assert stack.inspect(f"{name}-x-{victim}")["State"]["Status"] == "running"
    # Every staff identity's work went (the teacher's, and the account named like the student).
    for staff in (teacher_container, twin_container):
        assert staff not in stack.podman_names()
        assert not (stack.data / "workspaces" / name / staff.split("-x-", 1)[1]).exists()
    post(stack, session, f"{course}/settings/", branch="", staff="teacher", trust="legacy", referers="")
    # The staff's table stops the student, for the tests after; and a staff identity's server too.
    assert post(stack, session, f"{course}/students/{victim}/stop/").status_code == 302
    assert stack.inspect(f"{name}-x-{victim}")["State"]["Status"] == "exited"
    assert post(stack, session, f"{course}/my-workspace/").status_code == 302
    assert post(stack, session, f"{course}/students/_staff-teacher/stop/").status_code == 302
    assert stack.inspect(f"{name}-x-_staff-teacher")["State"]["Status"] == "exited"


def test_container_and_image_actions(stack, dashboard_course):
    name, repo, password = dashboard_course
    session = logged_in(stack, password)
    course = f"/staff/course/{name}"

    # Restart a student's container: running again, on the same workspace.
    assert post(stack, session, f"{course}/students/student1/restart/").status_code == 302
    assert stack.inspect(f"{name}-x-student1")["State"]["Status"] == "running"

    # Open my own workspace: a container of my own, whose Jupyter answers through nginx.
    response = post(stack, session, f"{course}/my-workspace/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/c/")
    assert requests.get(stack.url + response.headers["Location"], timeout=60).status_code == 200
    # Under an identity of its own, that no LMS student id can take.
    assert stack.inspect(f"{name}-x-_staff-teacher")["State"]["Status"] == "running"
    workspace = stack.data / "workspaces" / name / "_staff-teacher"
    assert workspace.is_dir()

    # Clear staff work: the teacher's workspace and container go, the student's stay.
    assert post(stack, session, f"{course}/clear-staff-work/").status_code == 302
    assert not workspace.exists()
    assert f"{name}-x-_staff-teacher" not in stack.podman_names()
    assert (stack.data / "workspaces" / name / "student1" / "intro.ipynb").exists()
    assert stack.inspect(f"{name}-x-student1")["State"]["Status"] == "running"

    # The image: a Containerfile appears upstream; pull, then rebuild from the dashboard.
    (repo / "Containerfile").write_text("FROM localhost/nbhosting/base:bookworm\nLABEL org.example.dash=1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "an image")
    tag = f"localhost/nbhosting/course-{name}:latest"
    try:
        for path, data in ((f"{course}/pull/", {}), (f"{course}/build/", {"forced": "1"})):
            response = post(stack, session, path, **data)
            assert response.status_code == 302 and "/jobs/" in response.headers["Location"]
            progress = wait_job(stack, session, response.headers["Location"])
            assert progress["state"] == "done", progress
        assert "--no-cache" in progress["log"] and progress["kind"] == "rebuild"
        built = stack.query("SELECT image_id, image_built_at FROM courses_course WHERE name = ?", name)[0]
        assert built[0] and built[1]
        assert stack.inspect(tag)["Id"].startswith(built[0])
        # "Build log" leads to that build's page.
        response = session.get(f"{stack.url}{course}/build-log/", allow_redirects=False, timeout=30)
        assert response.headers["Location"].endswith(f"/jobs/{progress['id']}/")
        # The courses list now says the running containers use an outdated image.
        page = session.get(f"{stack.url}/staff/", timeout=30).text
        assert "1 container outdated" in page
    finally:
        subprocess.run(["podman", "rmi", "-f", tag], capture_output=True)
