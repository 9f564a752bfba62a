"""The class-start rush: starts queue behind a bound, students wait on a progress page that needs
no cookie, each gets their own server, a failure says what to do, and a server started for a
page nobody waits on is stopped. A private stack where every cold open shows the progress page
(NBH_START_WAIT=0), one start runs at a time (NBH_START_CONCURRENCY=1), and pages nobody polls
are given up after 3 s."""
import re
import secrets
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.browser import ARTIFACTS, chromium
from tests.helpers import LMS, PROGRESS_URL, SERVER_URL, new_student, open_link, wait_on_progress
from tests.jupyter_api import execute
from tests.stack import Stack, make_repo

POSITION = re.compile(r"You are number (\d+) in the queue")


@pytest.fixture(scope="module")
def rush():
    base = Path(tempfile.mkdtemp(prefix="nbh-test-rush-", dir="/var/tmp"))
    running = Stack(base, NBH_START_WAIT="0", NBH_START_CONCURRENCY="1", NBH_START_ABANDON="3").start()
    running.course("rush", make_repo(base / "repo"), "--trust", "legacy")
    yield running
    running.stop()
    shutil.rmtree(base, ignore_errors=True)


def wait_for(condition, timeout: float = 300, what: str = "condition"):
    """Polls until `condition()` is true; the deadline is a hang guard, not a measured figure."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"{what} never happened"
        time.sleep(0.2)
    return value


def progress_location(stack, student: str, course: str = "rush") -> str:
    response = open_link(stack, "notebookLazyCopy", course, "intro", student)
    assert response.status_code == 302 and PROGRESS_URL.match(response.headers["Location"]), response.text[:300]
    return response.headers["Location"]


def uid_of(stack, student: str) -> int:
    return stack.query("select uid from workspaces_student where name = ?", student)[0][0]


def test_queue_of_one_gives_each_student_their_own_server(rush):
    students = [new_student("q") for _ in range(4)]
    seen: dict[str, set[int]] = {s: set() for s in students}

    def arrive(student: str) -> requests.Response:
        location = progress_location(rush, student)
        while True:  # as the page does, reading the place it shows
            page = requests.get(rush.url + location, allow_redirects=False, timeout=60)
            if page.status_code != 200:
                return page
            seen[student].update(int(n) for n in POSITION.findall(page.text))
            time.sleep(0.1)

    with ThreadPoolExecutor(max_workers=len(students)) as pool:
        answers = list(pool.map(arrive, students))
    assert [a.status_code for a in answers] == [302] * len(students)
    servers = {}
    for student, answer in zip(students, answers, strict=True):
        match = SERVER_URL.match(answer.headers["Location"])
        assert match, answer.headers["Location"]
        servers[student] = f"{rush.url}/c/{match['secret']}/"
    assert len(set(servers.values())) == len(students)
    for student, server in servers.items():  # never two students on one server
        assert execute(server, "import os; print(os.getuid())").strip() == str(uid_of(rush, student))
    # Queued students saw their place: someone waited behind another's start.
    assert max(max(places, default=0) for places in seen.values()) >= 2, seen
    # The bound held: one start at a time, each began after the one before ended.
    spans = rush.query("select s.started, s.finished from starts_start s join containers_container c "
                       "on c.id = s.container_id join workspaces_student w on w.id = c.student_id "
                       f"where w.name in ({','.join('?' * len(students))}) order by s.started", *students)
    assert len(spans) == len(students)
    for (_, finished), (started, _) in zip(spans, spans[1:], strict=False):
        assert started >= finished, spans


def test_status_needs_the_right_token(rush):
    location = progress_location(rush, new_student("t"))
    assert wait_on_progress(rush, location).status_code == 302
    good = requests.get(rush.url + location + "status", timeout=60)
    assert good.status_code == 200 and good.json()["state"] in ("queued", "starting", "ready")
    token = location.split("/")[2]
    near = token[:-1] + ("B" if token[-1] == "A" else "A")
    for token in (secrets.token_urlsafe(32), "short", near, token + "x"):
        for url in (f"/starting/{token}/status", f"/starting/{token}/"):
            response = requests.get(rush.url + url, allow_redirects=False, timeout=60)
            assert response.status_code == 404, url
            assert "/c/" not in response.text
    assert "url" not in requests.get(rush.url + f"/starting/{secrets.token_urlsafe(32)}/status", timeout=60).json()


def test_failed_start_shows_what_to_do_then_retry_works(rush):
    course = rush.course("broken", make_repo(rush.base / "broken-repo"), "--trust", "legacy",
                         "--image", "localhost/nbhosting-test/none:x")
    location = progress_location(rush, new_student("f"), course)
    status = wait_for(lambda: (s := requests.get(rush.url + location + "status", timeout=60).json())["state"]
                      == "failed" and s, what="the failure")
    assert "could not start" in status["title"] and "Try again" in status["message"] and "url" not in status
    page = requests.get(rush.url + location, allow_redirects=False, timeout=60)
    assert page.status_code == 503 and "Your files are safe" in page.text and "?retry=1" in page.text
    rush.nbh("course-update", course, "--image", "")
    retried = requests.get(rush.url + location + "?retry=1", allow_redirects=False, timeout=60)
    assert retried.status_code in (200, 302)
    assert wait_on_progress(rush, location).status_code == 302


def test_server_started_for_nobody_is_stopped(rush):
    student = new_student("gone")
    location = progress_location(rush, student)  # and the tab is closed: nobody polls
    name = f"rush-x-{student}"
    wait_for(lambda: rush.query("select state from containers_container where name = ?", name) == [("stopped",)],
             what="the stop of the unclaimed server")
    assert rush.query("select state, cold from starts_start where token = ?", location.split("/")[2]) \
        == [("abandoned", 1)]
    assert rush.query("select reason from monitor_cull where container = ?", name)[0][0] \
        == "started for a page that nobody waited on"
    # Coming back to the page starts it again.
    again = wait_on_progress(rush, location)
    assert again.status_code == 302 and SERVER_URL.match(again.headers["Location"])




def test_progress_page_leads_to_the_notebook_in_a_cross_site_iframe(rush, lms_page):
    html, lms_url = lms_page
    link = f"{rush.url}/notebookLazyCopy/rush/intro/{new_student('b')}"
    html["html"] = f'<html><body><iframe id="nb" src="{link}" width="1100" height="800"></iframe></body></html>'
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium(block_third_party_cookies=True) as browser:
        tab = browser.new_page()
        visited: list[str] = []
        tab.on("framenavigated", lambda f: visited.append(f.url))
        tab.goto(lms_url)
        frame = tab.wait_for_selector("iframe#nb").content_frame()
        frame.wait_for_url("**/c/**/notebooks/intro.ipynb", timeout=300_000)
        assert any(PROGRESS_URL.match(url.removeprefix(rush.url)) for url in visited), visited
        assert frame.evaluate("document.cookie = 'probe=1; SameSite=None'; document.cookie") == ""
        frame.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
        frame.click(".jp-CodeCell .jp-InputArea-editor")
        tab.keyboard.press("Shift+Enter")
        frame.wait_for_function(
            "() => [...document.querySelectorAll('.jp-CodeCell .jp-OutputArea-output')]"
            ".some(e => e.innerText.includes('uid'))", timeout=120_000)
        tab.screenshot(path=str(ARTIFACTS / "rush-progress-iframe.png"))


def test_failure_shows_in_the_cross_site_iframe(rush, lms_page):
    course = rush.course("broken2", make_repo(rush.base / "broken2-repo"), "--trust", "legacy",
                         "--image", "localhost/nbhosting-test/none:x")
    html, lms_url = lms_page
    link = f"{rush.url}/notebookLazyCopy/{course}/intro/{new_student('bf')}"
    html["html"] = f'<html><body><iframe id="nb" src="{link}" width="1100" height="800"></iframe></body></html>'
    with chromium(block_third_party_cookies=True) as browser:
        tab = browser.new_page()
        tab.goto(lms_url)
        frame = tab.wait_for_selector("iframe#nb").content_frame()
        frame.wait_for_function("() => document.querySelector('h1').innerText.includes('could not start')",
                                timeout=120_000)
        assert frame.get_by_role("link", name="Try again").is_visible()
        assert "Your files are safe" in frame.inner_text("body")
        tab.screenshot(path=str(ARTIFACTS / "rush-progress-failed.png"))


def test_lms_header_is_not_needed_after_the_launch(rush):
    """The page and its status are reached by the token alone: no Referer, no cookie."""
    response = open_link(rush, "notebookLazyCopy", "rush", "intro", new_student("h"), headers=LMS)
    assert response.status_code == 302
    page = requests.get(rush.url + response.headers["Location"], allow_redirects=False, timeout=60)
    assert page.status_code in (200, 302) and not page.cookies
