"""Helpers of the classroom tests: a course with tracks, students registered from a roster, and
a person's steps in a real browser (set the first password, log in, open a notebook, edit it)."""
import json
import re
import time
from pathlib import Path

import requests
from playwright.sync_api import Page

from tests.helpers import follow_progress
from tests.stack import Stack, git, make_repo

OUTLINE = """\
tracks:
  - title: Getting started
    sections:
      - title: First steps
        notebooks:
          - intro
          - path: w1/1.2-intro
            title: The first week
  - title: Text notebooks
    sections:
      - title: Markdown and scripts
        notebooks:
          - text/myst-notebook
          - text/percent-script
"""
LINK = re.compile(r"^created ([^\s:]+).*password link (\S+)$", re.MULTILINE)
PASSWORD = "a-long-classroom-pass-7"


def classroom_course(stack: Stack, name: str, *options: str) -> Path:
    """The demo course with an nbhosting.yaml, created on the stack; returns the teacher's repo."""
    repo = make_repo(stack.base / f"{name}-repo")
    (repo / "nbhosting.yaml").write_text(OUTLINE)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "tracks")
    stack.course(name, repo)
    if options:
        stack.nbh("course-classroom", name, *options)
    return repo


def register(stack: Stack, course: str, rows: list[tuple[str, str, str, str]]) -> dict[str, str]:
    """Registers a roster; returns each new student's one-time link."""
    roster = stack.base / f"{course}-roster.csv"
    roster.write_text("username,name,email,group\n" + "".join(",".join(row) + "\n" for row in rows))
    output = stack.nbh("student-register", course, str(roster), "--base-url", stack.url).stdout
    return dict(LINK.findall(output))


def first_login(page: Page, stack: Stack, username: str, link: str) -> None:
    """The one-time link, a password of the student's choice, then the login form."""
    page.goto(link)
    page.fill("#id_new_password1", PASSWORD)
    page.fill("#id_new_password2", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Your password is set")
    log_in(page, stack, username)


def log_in(page: Page, stack: Stack, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{stack.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")


def notebook_frame(page: Page):
    frame = page.wait_for_selector("iframe#notebook").content_frame()
    frame.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=120_000)
    return frame


def append_to_last_code_cell(page: Page, text: str) -> None:
    """Types at the end of the notebook's first code cell and saves, as a student does."""
    frame = notebook_frame(page)
    frame.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
    frame.click(".jp-CodeCell .jp-InputArea-editor")
    page.keyboard.press("Control+End")
    page.keyboard.type(text)
    page.keyboard.press("Control+s")


def wait_for_file(path: Path, needle: str, timeout: float = 60) -> str:
    """Waits until Jupyter has saved the student's edit (a wait, not a timed assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and needle in (text := path.read_text()):
            return text
        time.sleep(0.2)
    raise AssertionError(f"{path} never held {needle!r}")


def source_lines(path: Path, cell: int) -> list[str]:
    return json.loads(path.read_text())["cells"][cell]["source"]


# -- the same steps without a browser, for the tests that are about what the server answers ------
def session_for(stack: Stack, username: str, link: str) -> requests.Session:
    """Sets the first password through the one-time link, then logs in."""
    session = requests.Session()
    form = session.get(link, timeout=60)
    post(session, form.url, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    post(session, f"{stack.url}/accounts/login/", {"username": username, "password": PASSWORD})
    assert "sessionid" in session.cookies, f"{username} could not log in"
    return session


def post(session: requests.Session, url: str, data: dict | None = None, **kwargs) -> requests.Response:
    """A form's POST, with Django's CSRF token as a browser sends it (the cookie came with a page)."""
    return session.post(url, data={"csrfmiddlewaretoken": session.cookies.get("csrftoken", ""), **(data or {})},
                        timeout=300, **kwargs)


def server_of(session: requests.Session, stack: Stack, course: str, notebook: str) -> str:
    """Opens a notebook from the course's pages; returns the student's server URL."""
    response = follow_progress(
        stack, session.get(f"{stack.url}/course/{course}/open/{notebook}", allow_redirects=False, timeout=300))
    assert response.status_code == 302, (stack.base / "gunicorn.log").read_text()[-1500:]
    return stack.url + response.headers["Location"].split("notebooks/")[0]
