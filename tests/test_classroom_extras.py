"""Classroom extras on a real stack: the zip of a student's files, shared read-only snapshots, the
Jupyter menu's reset and share, copy mode's "get the new version", a MOOC workspace moving to git
mode; and a student who tries to reach another's pages, snapshots or files, including through
links planted from inside their own container."""
import io
import json
import os
import zipfile

import pytest
import requests

from tests.browser import ARTIFACTS, chromium_browser
from tests.classroom import (
    classroom_course,
    log_in,
    post,
    register,
    server_of,
    session_for,
)
from tests.helpers import SERVER_URL, follow_progress, new_student
from tests.jupyter_api import contents, execute
from tests.stack import git


@pytest.fixture(scope="module")
def extras(stack):
    """Course 'xtra' (git mode) with ann2 and bob2; course 'other', whose files bob2 must never get."""
    repo = classroom_course(stack, "xtra", "--mode", "git")
    classroom_course(stack, "other")
    (stack.data / "courses" / "other" / "repo" / "answers.md").write_text("the answers of another course\n")
    links = register(stack, "xtra", [("ann2", "Ann", "", "A"), ("bob2", "Bob", "", "B")])
    return repo, {name: session_for(stack, name, link) for name, link in links.items()}


def zip_names(response: requests.Response) -> set[str]:
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/zip"
    return set(zipfile.ZipFile(io.BytesIO(response.content)).namelist())


def test_zip_and_a_shared_snapshot_in_the_browser(stack, extras):
    _, sessions = extras
    ann = sessions["ann2"]
    server = server_of(ann, stack, "xtra", "intro.ipynb")
    notebook = contents(server, "intro.ipynb")
    notebook["content"]["cells"][0]["source"] = "# Ann's own notes"
    requests.put(f"{server}api/contents/intro.ipynb", json={"type": "notebook", "content": notebook["content"]},
                 timeout=30).raise_for_status()
    with chromium_browser() as browser:
        page = browser.new_context().new_page()
        log_in(page, stack, "ann2")
        page.goto(f"{stack.url}/course/xtra/")
        with page.expect_download() as download:
            page.click("#download")
        archive = zipfile.ZipFile(download.value.path())
        names = set(archive.namelist())
        assert {"intro.ipynb", "w1/1.2-intro.ipynb", "w1/data/numbers.csv", "nbhosting.yaml"} <= names
        assert not [n for n in names if n.startswith(".") or "/." in n]  # no .git, no checkpoints
        assert "Ann's own notes" in archive.read("intro.ipynb").decode()

        page.goto(f"{stack.url}/course/xtra/share/")
        page.select_option("#share-path", "intro.ipynb")
        page.click("#share")
        link = page.wait_for_selector("a.snapshot-link").get_attribute("href")
        reader = browser.new_context().new_page()  # nobody's session: anyone with the link
        reader.goto(stack.url + link)
        reader.wait_for_selector("text=Ann's own notes")
        assert reader.locator("text=print('uid', os.getuid())").count() == 1
        reader.screenshot(path=str(ARTIFACTS / "classroom-snapshot.png"))
        headers = requests.get(stack.url + link, timeout=30).headers
        assert headers["Content-Security-Policy"].startswith("sandbox;") and "script-src" not in headers[
            "Content-Security-Policy"]
        page.click("button:has-text('Stop sharing')")
        page.wait_for_selector("text=no longer works")
        assert requests.get(stack.url + link, timeout=30).status_code == 404
        reader.reload()
        assert "no shared notebook" in reader.inner_text("body")


def test_the_jupyter_menu_resets_and_shares(stack, extras):
    _, sessions = extras
    server = server_of(sessions["ann2"], stack, "xtra", "w1/1.2-intro.ipynb")
    execute(server, "import json\np = 'w1/1.2-intro.ipynb'; nb = json.load(open(p))\n"
                    "nb['cells'][0]['source'] = 'scribbles'\njson.dump(nb, open(p, 'w'))")
    with chromium_browser() as browser:
        page = browser.new_context().new_page()
        page.goto(server + "notebooks/w1/1.2-intro.ipynb")
        page.wait_for_selector(".jp-Cell", timeout=120_000)
        page.click(".lm-MenuBar-itemLabel:text-is('File')")
        item = page.wait_for_selector("li.lm-Menu-item:has-text('Reset a notebook to the course')")
        with page.context.expect_page() as opened:
            item.click()
        tools = opened.value
        tools.wait_for_load_state()
        assert "/reset/" in tools.url
        tools.click("tr:has-text('w1/1.2-intro.ipynb') button")
        done = tools.wait_for_selector("#done").inner_text()
        assert "yours is kept as w1/1.2-intro-backup-" in done
        backup = done.split("kept as ")[1].rstrip(".")
        assert contents(server, backup)["content"]["cells"][0]["source"] == "scribbles"
        assert "Week 1" in contents(server, "w1/1.2-intro.ipynb")["content"]["cells"][0]["source"]

        page.click(".lm-MenuBar-itemLabel:text-is('File')")
        item = page.wait_for_selector("li.lm-Menu-item:has-text('Share a read-only copy')")
        with page.context.expect_page() as opened:
            item.click()
        share = opened.value
        share.wait_for_load_state()
        share.select_option("#share-path", "w1/1.2-intro.ipynb")
        share.click("#share")
        link = share.wait_for_selector("a.snapshot-link").get_attribute("href")
        assert "Week 1" in requests.get(stack.url + link, timeout=30).text


def test_no_student_reaches_anothers_pages_snapshots_or_files(stack, extras):
    _, sessions = extras
    ann, bob = sessions["ann2"], sessions["bob2"]
    server_of(ann, stack, "xtra", "intro.ipynb")
    post(ann, f"{stack.url}/course/xtra/share/", {"path": "intro.ipynb"})
    ((snapshot,),) = stack.query(
        "SELECT token FROM classroom_snapshot s JOIN workspaces_student w ON s.student_id = w.id "
        "WHERE w.name = 'ann2' AND path = 'intro.ipynb' AND revoked IS NULL ORDER BY s.id DESC LIMIT 1")

    # Bob plants links in his own workspace, from inside his container, to files his uid could
    # read on the host but his container cannot see: another course's material.
    bob_server = server_of(bob, stack, "xtra", "intro.ipynb")
    elsewhere = stack.data / "courses" / "other" / "repo" / "answers.md"
    output = execute(bob_server, "import os\nos.remove('intro.ipynb')\n"
                                 f"os.symlink({str(elsewhere)!r}, 'intro.ipynb')\n"
                                 f"os.symlink({str(elsewhere.parent)!r}, 'other')\n"
                                 "print(os.path.islink('intro.ipynb'))")
    assert output.strip() == "True"

    names = zip_names(bob.get(f"{stack.url}/course/xtra/files.zip", timeout=120))
    assert "intro.ipynb" not in names and not [n for n in names if n.startswith("other")]
    assert "w1/1.2-intro.ipynb" in names  # his own files are there
    shared = post(bob, f"{stack.url}/course/xtra/share/", {"path": "intro.ipynb"})
    assert "Choose one of your notebooks" in shared.text
    assert not stack.query("SELECT 1 FROM classroom_snapshot s JOIN workspaces_student w ON s.student_id = w.id "
                           "WHERE w.name = 'bob2'")

    # Ann's snapshot cannot be revoked by Bob, nor listed; Ann's pages show Bob nothing of hers.
    assert post(bob, f"{stack.url}/course/xtra/share/{snapshot}/revoke/").status_code == 404
    assert requests.get(f"{stack.url}/s/{snapshot}/", timeout=30).status_code == 200
    assert snapshot not in bob.get(f"{stack.url}/course/xtra/share/", timeout=30).text
    for url in ("/course/other/", "/course/other/files.zip", "/course/other/open/intro.ipynb",
                "/course/no-such/"):
        assert bob.get(stack.url + url, timeout=30, allow_redirects=False).status_code == 403, url
    for path in ("../ann2/intro.ipynb", "..%2Fann2%2Fintro.ipynb", "/etc/passwd"):
        response = bob.get(f"{stack.url}/course/xtra/open/{path}", timeout=30, allow_redirects=False)
        assert response.status_code in (400, 404), path
    # The menu's pages need the server's secret: a guessed one reaches nothing.
    for url in ("/reset/" + "A" * 43 + "/", "/share/" + "A" * 43 + "/"):
        assert requests.post(stack.url + url, data={"path": "intro.ipynb"}, timeout=30).status_code == 404


def test_copy_mode_offers_the_new_version_and_keeps_the_students(stack):
    repo = classroom_course(stack, "mooc", "--mode", "copy")
    session = session_for(stack, "dan", register(stack, "mooc", [("dan", "Dan", "", "")])["dan"])
    server = server_of(session, stack, "mooc", "intro.ipynb")
    notebook = contents(server, "intro.ipynb")["content"]
    notebook["cells"][1]["source"] = "print('my work')"
    requests.put(f"{server}api/contents/intro.ipynb", json={"type": "notebook", "content": notebook},
                 timeout=30).raise_for_status()
    home = session.get(f"{stack.url}/course/mooc/", timeout=30).text
    assert "modified" in home and "newer version" not in home

    fixed = json.loads((repo / "intro.ipynb").read_text())
    fixed["cells"][0]["source"] = ["# Welcome, fixed\n"]
    (repo / "intro.ipynb").write_text(json.dumps(fixed, indent=1))
    git(repo, "commit", "-qam", "a fix")
    stack.nbh("course-pull", "mooc")
    page = session.get(f"{stack.url}/course/mooc/nb/intro.ipynb", timeout=60).text
    assert "Get the new version (yours is kept as a backup)" in page
    done = post(session, f"{stack.url}/course/mooc/new-version/intro.ipynb")
    assert "yours is kept as intro-backup-" in done.text
    backup = done.text.split("yours is kept as ")[1].split(".ipynb")[0] + ".ipynb"
    assert contents(server, backup)["content"]["cells"][1]["source"] == "print('my work')"
    assert contents(server, "intro.ipynb")["content"]["cells"][0]["source"] == "# Welcome, fixed\n"
    assert "newer version" not in session.get(f"{stack.url}/course/mooc/", timeout=30).text


def test_a_mooc_workspace_moves_to_git_mode_without_a_dead_end(stack, extras):
    """First LMS links (copies), then an account on the classroom's git-mode pages: no 409."""
    student = new_student("lms")
    link = stack.nbh("course-sign-url", "xtra", "intro", student, "--base", stack.url).stdout.strip()
    response = follow_progress(stack, requests.get(link, allow_redirects=False, timeout=300))
    server = stack.url + "/c/" + SERVER_URL.match(response.headers["Location"])["secret"] + "/"
    notebook = contents(server, "intro.ipynb")["content"]
    notebook["cells"][1]["source"] = "print('from the LMS days')"
    requests.put(f"{server}api/contents/intro.ipynb", json={"type": "notebook", "content": notebook},
                 timeout=30).raise_for_status()
    execute(server, "open('notes.txt', 'w').write('mine')")

    roster = stack.base / "claim.csv"
    roster.write_text(f"username\n{student}\n")
    refused = stack.nbh("student-register", "xtra", str(roster), check=False)
    assert refused.returncode != 0 and "--claim-existing" in refused.stdout + refused.stderr
    claimed = stack.nbh("student-register", "xtra", str(roster), "--claim-existing", "--base-url", stack.url)
    session = session_for(stack, student, claimed.stdout.split("password link ")[1].split()[0])
    page = session.get(f"{stack.url}/course/xtra/nb/intro.ipynb", timeout=300)
    assert page.status_code == 200
    assert "Your folder now follows the course" in page.text and "<li>intro.ipynb</li>" in page.text
    assert server_of(session, stack, "xtra", "intro.ipynb") == server  # the same workspace and server
    assert contents(server, "intro.ipynb")["content"]["cells"][1]["source"] == "print('from the LMS days')"
    assert contents(server, "notes.txt")["content"] == "mine"
    status = execute(server, "import subprocess\nprint(subprocess.run(['git', 'status', '--porcelain'], "
                             "capture_output=True, text=True).stdout)")
    assert " M intro.ipynb" in status and "?? notes.txt" in status


def test_staff_see_progress_and_drop_files_without_following_a_students_link(stack, extras):
    _, sessions = extras
    ann, bob = sessions["ann2"], sessions["bob2"]
    server_of(ann, stack, "xtra", "intro.ipynb")
    bob_server = server_of(bob, stack, "xtra", "intro.ipynb")
    # From inside his container, Bob points names at a host folder his uid may write to, hoping
    # that the platform writes there for him.
    trap = stack.base / "trap"
    trap.mkdir()
    trap.chmod(0o777)
    execute(bob_server, f"import os\nos.symlink({str(trap)!r}, 'handouts')\n"
                        f"os.symlink({str(trap / 'syllabus.md')!r}, 'syllabus.md')")

    password = stack.base / "teacher-password"
    password.write_text("teacher-password-42\n")
    stack.nbh("staff-create", "teacher", "--course", "xtra", "--password-file", str(password))
    teacher = requests.Session()
    teacher.get(f"{stack.url}/staff/login/", timeout=30)
    post(teacher, f"{stack.url}/staff/login/", {"username": "teacher", "password": "teacher-password-42"})
    table = teacher.get(f"{stack.url}/staff/course/xtra/students/?group=B", timeout=60).text
    assert 'data-student="bob2"' in table and 'data-student="ann2"' not in table

    files = [("files", ("syllabus.md", b"# Syllabus\n")), ("files", ("sheet.md", b"# Sheet\n"))]
    dry = post(teacher, f"{stack.url}/staff/course/xtra/droparea/run/", {"mode": "dry-run"}, files=files[:1])
    assert dry.status_code == 200 and "Dry run" in dry.text
    assert not (stack.data / "workspaces" / "xtra" / "ann2" / "syllabus.md").exists()
    post(teacher, f"{stack.url}/staff/course/xtra/droparea/run/", {"mode": "drop"}, files=files[:1])
    post(teacher, f"{stack.url}/staff/course/xtra/droparea/run/", {"mode": "drop", "folder": "handouts"},
         files=files[1:])
    ann_home = stack.data / "workspaces" / "xtra" / "ann2"
    assert (ann_home / "syllabus.md").read_text() == "# Syllabus\n"
    assert (ann_home / "handouts" / "sheet.md").read_text() == "# Sheet\n"
    assert os.listdir(trap) == []  # nothing was written through Bob's links
    bob_home = stack.data / "workspaces" / "xtra" / "bob2"
    assert (bob_home / "syllabus.md").is_symlink() and (bob_home / "handouts").is_symlink()  # left as his

