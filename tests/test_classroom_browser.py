"""Classroom mode in a real browser: three students registered from a CSV log in through their
one-time links, see the course's tracks, open a notebook beside them and edit it; the teacher
changes that notebook and adds one; the students come back: the new notebook is there, the merge
kept each student's edit, and the page lists where their edits won over the course's."""
import json

import pytest

from tests.browser import ARTIFACTS, chromium_browser
from tests.classroom import (
    append_to_last_code_cell,
    classroom_course,
    first_login,
    log_in,
    notebook_frame,
    register,
    source_lines,
    wait_for_file,
)
from tests.stack import git

STUDENTS = [("ann", "Ann Arbor", "ann@example.org", "A"), ("bob", "Bob Bird", "", "A"),
            ("cid", "Cid Crane", "cid@example.org", "B")]


@pytest.fixture(scope="module")
def classroom(stack):
    repo = classroom_course(stack, "cls", "--mode", "git")
    return repo, register(stack, "cls", STUDENTS)


def test_roster_links_tracks_edits_and_merges(stack, classroom):
    repo, links = classroom
    assert sorted(links) == ["ann", "bob", "cid"]
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium_browser() as browser:
        pages = {name: browser.new_context(viewport={"width": 1300, "height": 900}).new_page() for name in links}
        for name, page in pages.items():
            first_login(page, stack, name, links[name])
            page.wait_for_selector("h1:has-text('My courses')")
            page.click("a:has-text('cls')")
            page.wait_for_selector("h2:has-text('Getting started')")
            assert page.inner_text("h3 >> nth=0") == "First steps"
            titles = page.locator(".tracks a.notebook").all_inner_texts()
            assert titles == ["Welcome", "The first week", "A notebook written as MyST markdown",
                              "A notebook written as a percent script"]
            page.click("a.notebook:has-text('Welcome')")
            append_to_last_code_cell(page, f"  # answer of {name}")
            mine = stack.data / "workspaces" / "cls" / name / "intro.ipynb"
            wait_for_file(mine, f"answer of {name}")
            assert page.inner_text("#next") == "The first week →"
            page.screenshot(path=str(ARTIFACTS / f"classroom-{name}-edit.png"))
            page.goto(f"{stack.url}/course/cls/")
            assert "opened" in page.inner_text("li[data-path='intro.ipynb']")
            assert "modified" in page.inner_text("li[data-path='intro.ipynb']")

        # The teacher changes the line the students edited and another cell, and adds a notebook.
        notebook = json.loads((repo / "intro.ipynb").read_text())
        notebook["cells"][0]["source"][0] = "# Welcome, class\n"
        notebook["cells"][1]["source"][2] = "2 + 2"
        (repo / "intro.ipynb").write_text(json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
        (repo / "w2").mkdir()
        (repo / "w2" / "2.1-more.ipynb").write_text((repo / "w1" / "1.2-intro.ipynb").read_text().replace(
            "Week 1", "Week 2"))
        (repo / "nbhosting.yaml").write_text((repo / "nbhosting.yaml").read_text().replace(
            "            title: The first week\n", "            title: The first week\n          - w2/2.1-more\n"))
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "week 2, and a fix in the welcome")
        stack.nbh("course-pull", "cls")

        for name, page in pages.items():
            page.goto(f"{stack.url}/course/cls/")
            assert "newer version" in page.inner_text("li[data-path='intro.ipynb']")
            assert page.locator("a.notebook:has-text('Week 2')").count() == 1  # the new notebook
            page.click("a.notebook:has-text('Welcome')")
            report = page.wait_for_selector(".report.merged")
            assert page.locator(".report.merged ul.kept li").all_inner_texts() == ["intro.ipynb"]
            updated = page.locator(".report.merged ul.updated li").all_inner_texts()
            assert sorted(updated) == ["intro.ipynb changed", "nbhosting.yaml changed", "w2/2.1-more.ipynb new"]
            assert "your edits were kept" in report.inner_text()
            frame = notebook_frame(page)
            frame.wait_for_selector(f".jp-CodeCell:has-text('answer of {name}')")
            frame.wait_for_selector(".jp-MarkdownCell:has-text('Welcome, class')")
            page.screenshot(path=str(ARTIFACTS / f"classroom-{name}-merged.png"))
            home = stack.data / "workspaces" / "cls" / name
            assert source_lines(home / "intro.ipynb", 1)[2] == f"1 + 1  # answer of {name}"
            assert source_lines(home / "intro.ipynb", 0)[0] == "# Welcome, class\n"
            assert (home / "w2" / "2.1-more.ipynb").is_file()
            with page.expect_navigation():
                page.click("button:has-text('Dismiss')")
            page.wait_for_selector("iframe#notebook")
            assert page.locator(".report.merged").count() == 0

        # A wrong password, again and again: the account is refused for a while, even the right one.
        page = browser.new_context().new_page()
        for _ in range(5):
            log_in(page, stack, "cid", "not-the-password")
            page.wait_for_selector("text=Please enter a correct username and password")
        log_in(page, stack, "cid")
        page.wait_for_selector("text=Too many failed logins")
        assert page.url.endswith("/accounts/login/")


def test_logout_and_a_forgotten_password_in_the_browser(stack, classroom):
    """The account pages as a student meets them: log out, then 'Forgot your password?', whose
    email (the site prints it: no mail server here) carries a link that works once."""
    links = register(stack, "cls", [("eve", "Eve", "eve@example.org", "B")])
    with chromium_browser() as browser:
        page = browser.new_context().new_page()
        first_login(page, stack, "eve", links["eve"])
        page.wait_for_selector("h1:has-text('My courses')")
        page.click("header button:has-text('Log out')")
        page.wait_for_selector("h1:has-text('Log in')")
        assert page.url.endswith("/accounts/login/")
        page.goto(f"{stack.url}/course/cls/")
        assert "/accounts/login/?next=/course/cls/" in page.url  # logged out for real

        page.click("text=Forgot your password?")
        page.fill("#id_email", "eve@example.org")
        page.click("button[type=submit]")
        page.wait_for_selector("text=Check your email")
        mailed = (stack.base / "gunicorn.log").read_text()
        link = [line for line in mailed.splitlines() if "/accounts/set-password/" in line][-1].strip()
        page.goto(link)
        page.fill("#id_new_password1", "another-long-pass-8")
        page.fill("#id_new_password2", "another-long-pass-8")
        page.click("button[type=submit]")
        page.wait_for_selector("text=Your password is set")
        log_in(page, stack, "eve", "another-long-pass-8")
        page.wait_for_selector("h1:has-text('My courses')")
        page.goto(link)
        assert "does not work any more" in page.inner_text("body")
