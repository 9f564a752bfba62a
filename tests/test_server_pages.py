"""A student's own server from the browser: the page a tab gets once its server was culled, the
link on it that brings the notebook back, "stop my server", and the staff's stop and restart."""
import shutil
import tempfile
import time
from pathlib import Path

import pytest
import requests

from tests.browser import chromium
from tests.helpers import LMS
from tests.lifecycle import db_state, name_of, podman_state, server_of, wait_until
from tests.stack import Stack, make_repo


@pytest.fixture(scope="module")
def pages():
    base = Path(tempfile.mkdtemp(prefix="nbh-pages-", dir="/var/tmp"))
    stack = Stack(base, NBH_CULL_KERNELS_AFTER="3", NBH_CULL_KERNELS_INTERVAL="1",
                  NBH_CULL_SERVER_AFTER="6", NBH_REMOVE_AFTER="3600", NBH_GUNICORN_WORKERS="2").start()
    stack.course("life", make_repo(base / "repo"), "--trust", "legacy")
    yield stack
    stack.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    with chromium() as context:
        yield context


def culled(stack: Stack, student: str) -> bool:
    stack.nbh("monitor", "--once")
    return db_state(stack, student) == "stopped"


def test_culled_tab_gets_the_stopped_page_and_its_link_reopens_the_notebook(pages, browser):
    page = browser.new_page()
    page.goto(f"{pages.url}/notebookLazyCopy/life/intro.ipynb/tab", referer=LMS["Referer"])
    page.wait_for_selector(".jp-Cell", timeout=120_000)
    notebook_url = page.url
    assert "/notebooks/intro.ipynb" in notebook_url
    # The student leaves (the tab's connections close); the server goes idle and is culled.
    page.goto("about:blank")
    assert wait_until(lambda: culled(pages, "tab"), 90, every=2)
    assert podman_state(pages, name_of("tab")) == "exited"
    # Back to the tab: a reload shows what happened, not a 502.
    response = page.goto(notebook_url)
    assert response.status == 503
    assert "was stopped after" in page.inner_text("body")
    assert "Your files are safe" in page.inner_text("body")
    page.click("#restart")
    page.wait_for_selector(".jp-Cell", timeout=120_000)
    assert page.url == notebook_url
    assert db_state(pages, "tab") == "running"
    page.close()


def test_open_tab_keeps_its_server_past_t(pages, browser):
    """A student reading with the tab open is connected, not idle, however long they read."""
    page = browser.new_page()
    page.goto(f"{pages.url}/notebookLazyCopy/life/intro.ipynb/reading", referer=LMS["Referer"])
    page.wait_for_selector(".jp-Cell", timeout=120_000)
    time.sleep(8)  # past T (6 s)
    pages.nbh("monitor", "--once")
    assert db_state(pages, "reading") == "running"
    assert podman_state(pages, name_of("reading")) == "running"
    page.close()


def test_student_stops_own_server_after_confirming(pages, browser):
    server = server_of(pages, "stopper")
    secret = server.rstrip("/").split("/")[-1]
    page = browser.new_page()
    page.goto(f"{pages.url}/stop/{secret}/")
    assert "Stop my notebook server?" in page.inner_text("body")
    assert db_state(pages, "stopper") == "running"  # looking at the link stops nothing
    page.click("button[type=submit]")
    page.wait_for_selector("#restart")
    assert "Your files are safe" in page.inner_text("body")
    assert podman_state(pages, name_of("stopper")) == "exited"
    assert db_state(pages, "stopper") == "stopped"
    reason = pages.query("SELECT reason FROM monitor_cull WHERE container = ?", name_of("stopper"))
    assert reason == [("stopped by the student",)]
    page.click("#restart")
    page.wait_for_url(server + "tree")
    assert podman_state(pages, name_of("stopper")) == "running"
    page.close()


def test_stop_my_server_from_the_notebooks_file_menu(pages, browser):
    """Inside Jupyter, File > Stop my server opens the confirmation in a new tab, as a hub's
    control panel does; the notebook tab stays until the student confirms."""
    page = browser.new_page()
    page.goto(f"{pages.url}/notebookLazyCopy/life/intro.ipynb/menu", referer=LMS["Referer"])
    page.wait_for_selector(".jp-Cell", timeout=120_000)
    secret = page.url.split("/c/")[1].split("/")[0]
    page.click("text=File")
    item = page.wait_for_selector("li.lm-Menu-item:has-text('Stop my server')", timeout=30_000)
    with page.context.expect_page() as opened:
        item.click()
    confirm = opened.value
    confirm.wait_for_load_state()
    assert confirm.url == f"{pages.url}/stop/{secret}/"
    assert "Stop my notebook server?" in confirm.inner_text("body")
    assert db_state(pages, "menu") == "running"
    confirm.click("button[type=submit]")
    confirm.wait_for_selector("#restart")
    assert podman_state(pages, name_of("menu")) == "exited"
    assert db_state(pages, "menu") == "stopped"
    # The student cannot take the item out, nor point it elsewhere: its file is root's.
    config = pages.data / "run" / "config" / name_of("menu") / "labconfig"
    assert (config / "default_setting_overrides.json").stat().st_uid == 0
    assert oct(config.stat().st_mode & 0o777) == "0o755"
    confirm.close()
    page.close()


def test_without_the_secret_nothing_starts_or_stops(pages):
    server = server_of(pages, "guarded")
    unknown = "A" * 43
    for url in (f"/restart/{unknown}/notebooks/intro.ipynb", f"/stop/{unknown}/", f"/c/{unknown}/tree",
                "/restart/short/tree", "/stop/%2E%2E/"):  # dot segments unnormalised by the client
        response = requests.get(pages.url + url, timeout=30, allow_redirects=False)
        assert response.status_code == 404, url
    assert requests.post(f"{pages.url}/stop/{unknown}/", timeout=30).status_code == 404
    assert db_state(pages, "guarded") == "running"
    assert requests.get(f"{server}api/status", timeout=30).status_code == 200


def test_restart_link_goes_back_to_pages_only(pages):
    server = server_of(pages, "paths")
    secret = server.rstrip("/").split("/")[-1]
    for rest, target in (("notebooks/intro.ipynb", "notebooks/intro.ipynb"), ("api/kernels", "tree"),
                         ("notebooks/w1/1.2-intro.ipynb", "notebooks/w1/1.2-intro.ipynb")):
        response = requests.get(f"{pages.url}/restart/{secret}/{rest}", timeout=300, allow_redirects=False)
        assert response.status_code == 302
        assert response.headers["Location"] == f"/c/{secret}/{target}"


def test_restart_path_never_leaves_the_server():
    from nbhosting.gateway.servers import page_path
    assert page_path("/notebooks/a b.ipynb") == "notebooks/a b.ipynb"
    for rest in ("/notebooks/../../admin/", "/tree/./x", "//evil.example.org/", "/api/contents", ""):
        assert page_path(rest) == "tree", rest


def test_staff_stop_and_restart(pages):
    server = server_of(pages, "staffed")
    started = pages.inspect(name_of("staffed"))["State"]["StartedAt"]
    out = pages.nbh("container-stop", "life", "staffed").stdout
    assert f"stopped {name_of('staffed')}" in out
    assert podman_state(pages, name_of("staffed")) == "exited"
    assert db_state(pages, "staffed") == "stopped"
    assert requests.get(f"{server}api/status", timeout=30).status_code == 503
    pages.nbh("container-restart", "life", "staffed")
    assert db_state(pages, "staffed") == "running"
    assert pages.inspect(name_of("staffed"))["State"]["StartedAt"] != started
    assert requests.get(f"{server}api/status", timeout=30).status_code == 200
    # A running server is restarted too, and answers again at once.
    pages.nbh("container-restart", "life", "staffed")
    assert requests.get(f"{server}api/status", timeout=30).status_code == 200


@pytest.mark.parametrize("args", [("container-stop", "../etc", "x"), ("container-stop", "life", "nobody"),
                                  ("container-restart", "life", "a b"), ("container-restart", "nocourse", "x")])
def test_staff_commands_refuse_bad_input(pages, args):
    before = pages.podman_names()
    proc = pages.nbh(*args, check=False)
    assert proc.returncode != 0
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert pages.podman_names() == before


def test_stopped_page_counts_the_idle_minutes(pages):
    server = server_of(pages, "minutes")
    time.sleep(7)
    assert wait_until(lambda: culled(pages, "minutes"), 60, every=2)
    text = requests.get(server + "notebooks/intro.ipynb", timeout=30).text
    assert "was stopped after" in text and " s without activity" in text
