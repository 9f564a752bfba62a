"""The notebook's kernel is started as part of the open (containers/kernels.py): on a real stack,
the server has a session with a kernel for the notebook before the browser gets its URL, a real
Chromium's notebook page attaches to that kernel (no second one) and runs a cell in it, and a
pre-started kernel that nobody connects to is culled by Jupyter's idle-kernel culling."""
import shutil
import tempfile
import time
from pathlib import Path

import pytest
import requests

from tests.browser import ARTIFACTS, chromium
from tests.helpers import SERVER_URL, follow_progress, new_student, open_link, open_notebook
from tests.stack import Stack, make_repo

COURSE = "kern"


def course_stack(prefix: str, **settings: str):
    base = Path(tempfile.mkdtemp(prefix=prefix, dir="/var/tmp"))
    running = Stack(base, **settings).start()
    running.course(COURSE, make_repo(base / "repo"), "--trust", "legacy")
    return base, running


@pytest.fixture(scope="module")
def stack():
    base, running = course_stack("nbh-test-kernels-")
    yield running
    running.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def culling():
    """Idle kernels culled after 20 s, looked for every 2 s."""
    base, running = course_stack("nbh-test-kernels-cull-", NBH_CULL_KERNELS_AFTER="20", NBH_CULL_KERNELS_INTERVAL="2")
    yield running
    running.stop()
    shutil.rmtree(base, ignore_errors=True)


def api(server: str, what: str) -> list[dict]:
    response = requests.get(f"{server}api/{what}", timeout=30)
    response.raise_for_status()
    return response.json()


def wait_for(condition, what: str, timeout: float = 180):
    """A hang guard, not a measured figure."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"{what} never happened"
        time.sleep(0.5)
    return value


def test_the_open_starts_the_notebooks_kernel_before_the_page(stack):
    server, path = open_notebook(stack, COURSE, "intro", new_student("k"))
    sessions = api(server, "sessions")
    assert [(s["path"], s["type"], s["kernel"]["name"]) for s in sessions] == [("intro.ipynb", "notebook", "python3")]
    assert [k["id"] for k in api(server, "kernels")] == [sessions[0]["kernel"]["id"]]


def test_a_warm_open_restarts_a_kernel_that_was_culled_and_keeps_a_running_one(culling):
    student = new_student("k")
    server, _ = open_notebook(culling, COURSE, "intro", student)
    first = api(server, "kernels")[0]["id"]
    again = open_link(culling, "notebookLazyCopy", COURSE, "intro", student)
    assert again.status_code == 302 and SERVER_URL.match(again.headers["Location"])
    assert [k["id"] for k in api(server, "kernels")] == [first]  # the open found it: no second kernel
    wait_for(lambda: not api(server, "kernels"), "the culling of the unused kernel")
    assert api(server, "sessions") == []  # its session went with it
    again = open_link(culling, "notebookLazyCopy", COURSE, "intro", student)
    assert again.status_code == 302 and SERVER_URL.match(again.headers["Location"])
    assert len(api(server, "kernels")) == 1


def test_a_prestarted_kernel_nobody_connects_to_is_culled(culling):
    server, _ = open_notebook(culling, COURSE, "intro", new_student("k"))
    (kernel,) = api(server, "kernels")
    assert kernel["connections"] == 0
    wait_for(lambda: not api(server, "kernels"), "the culling of the unused kernel")
    assert api(server, "status")["kernels"] == 0


def test_the_notebook_page_attaches_to_the_prestarted_kernel_and_runs_a_cell(stack):
    student = new_student("k")
    response = follow_progress(stack, open_link(stack, "notebookLazyCopy", COURSE, "intro", student))
    match = SERVER_URL.match(response.headers["Location"])
    assert match, response.headers
    server = f"{stack.url}/c/{match['secret']}/"
    (prestarted,) = api(server, "kernels")
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium() as browser:
        tab = browser.new_page()
        tab.goto(stack.url + response.headers["Location"])
        tab.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=120_000)
        # The page is ready once its session has connected to a kernel: that is the pre-started one
        # (a page that started its own would leave the pre-started one without a connection).
        # The indicator alone can say idle before the page has connected to anything.
        wait_for(lambda: any(k["id"] == prestarted["id"] and k["connections"] >= 1 for k in api(server, "kernels")),
                 "the page's connection to the pre-started kernel")
        tab.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
        tab.click(".jp-CodeCell .jp-InputArea-editor")
        tab.keyboard.press("Shift+Enter")
        tab.wait_for_function("() => [...document.querySelectorAll('.jp-CodeCell .jp-OutputArea-output')]"
                              ".some(e => e.innerText.includes('uid'))", timeout=60_000)
        tab.screenshot(path=str(ARTIFACTS / "kernel-prestart-notebook.png"))
        kernels = api(server, "kernels")
        # The page ran its cell in the kernel the open had started, and started none of its own.
        assert [k["id"] for k in kernels] == [prestarted["id"]]
        assert kernels[0]["connections"] >= 1
