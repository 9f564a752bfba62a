"""Launch trust: exact Referer allow-list for legacy links, HMAC with expiry for signed ones."""
from urllib.parse import urlsplit

import requests

from tests.helpers import new_student, open_link


def signed_url(stack, course: str, notebook: str, student: str, *options: str) -> str:
    url = stack.nbh("course-sign-url", course, notebook, student, "--base", stack.url, *options).stdout.strip()
    assert urlsplit(url).path == f"/notebookLazyCopy/{course}/{notebook}/{student}"
    return url


def get(url: str) -> requests.Response:
    return requests.get(url, allow_redirects=False, timeout=300)


def test_signed_links(stack, demo_repo):
    course = stack.course("signed", demo_repo)  # signed is the default trust
    student = new_student()
    good = signed_url(stack, course, "intro", student)
    assert get(good).status_code == 302

    tampered = good[:-1] + ("0" if good[-1] != "0" else "1")
    other_student = good.replace(f"/{student}?", f"/{new_student()}?")
    expired = signed_url(stack, course, "intro", student, "--ttl", "-10")
    unsigned = good.split("?")[0]
    for url, reason in ((tampered, "signature is not valid"), (other_student, "signature is not valid"),
                        (expired, "expired"), (unsigned, "not signed")):
        response = get(url)
        assert response.status_code == 403, url
        assert reason in response.text
    # An unsigned link with an allow-listed Referer is still refused: the course wants signatures.
    assert open_link(stack, "notebookLazyCopy", course, "intro", new_student()).status_code == 403


def test_legacy_links_need_an_exact_referer_host(stack, legacy_course):
    for referer in ("", "https://lms.example.org.evil.net/", "https://evil.net/?lms.example.org",
                    "https://sub.lms.example.org/"):
        student = new_student()
        response = open_link(stack, "notebookLazyCopy", legacy_course, "intro", student,
                             headers={"Referer": referer} if referer else {})
        assert response.status_code == 403, referer
        assert "<h1>Link refused</h1>" in response.text
        assert stack.query("select count(*) from workspaces_student where name = ?", student) == [(0,)]
    ok = open_link(stack, "notebookLazyCopy", legacy_course, "intro", new_student(),
                   headers={"Referer": "http://127.0.0.2:8000/unit"})
    assert ok.status_code == 302


def test_sign_url_refuses_bad_input(stack, legacy_course):
    bad = (("nosuchcourse", "intro", "x"), (legacy_course, "../x", "x"), (legacy_course, "intro", "bad$id"),
           (legacy_course, "intro"), (legacy_course, "intro", "x", "--ttl", "soon"))
    for args in bad:
        proc = stack.nbh("course-sign-url", *args, check=False)
        assert proc.returncode != 0 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_a_signature_covers_its_entry_point(stack, demo_repo):
    """A link signed for a notebook copy does not open the course as a git clone, nor the reverse."""
    course = stack.course("signed-modes", demo_repo)
    student = new_student()
    lazy = signed_url(stack, course, "intro", student)
    git_url = stack.nbh("course-sign-url", course, "intro", student, "--base", stack.url, "--git").stdout.strip()
    assert urlsplit(git_url).path == f"/notebookGitRepo/{course}/intro/{student}"
    for url in (lazy.replace("/notebookLazyCopy/", "/notebookGitRepo/"),
                git_url.replace("/notebookGitRepo/", "/notebookLazyCopy/"),
                git_url.replace("/notebookGitRepo/", "/ipythonExercice/")):
        response = get(url)
        assert response.status_code == 403, url
        assert "signature is not valid" in response.text
    assert stack.query("select count(*) from workspaces_student where name = ?", student) == [(0,)]
    assert get(git_url).status_code == 302
    assert get(lazy.replace("/notebookLazyCopy/", "/ipythonExercice/")).status_code == 302
