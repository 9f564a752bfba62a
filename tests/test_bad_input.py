"""Every class of bad input gets a readable 4xx and creates nothing."""
import http.client
import os

import pytest

from tests.helpers import LMS


def raw_get(stack, path: str) -> tuple[int, str]:
    """http.client sends the path exactly as given: no normalisation of '..' or '%00'."""
    connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=60)
    connection.request("GET", path, headers=LMS)
    response = connection.getresponse()
    return response.status, response.read().decode(errors="replace")


def created_anything(stack, course: str, student: str) -> bool:
    rows = stack.query("select count(*) from workspaces_student where name = ?", student)[0][0]
    folder = stack.data / "workspaces" / course / student
    return rows > 0 or folder.exists() or any(n.endswith(f"-x-{student}") for n in stack.podman_names())


@pytest.mark.parametrize("path, status, words", [
    ("/notebookLazyCopy/bad$course/intro/badinput1", 400, "invalid course name"),
    ("/notebookLazyCopy/{course}/intro/bad%20student", 400, "invalid student id"),
    ("/notebookLazyCopy/{course}/intro/-badinput2", 400, "invalid student id"),
    ("/notebookLazyCopy/{course}/intro/.badinput3", 400, "invalid student id"),
    ("/notebookLazyCopy/{course}/w1/../../../etc/passwd/badinput4", 400, "invalid notebook path"),
    ("/notebookLazyCopy/{course}/w1/%2e%2e/intro/badinput5", 400, "invalid notebook path"),
    ("/notebookLazyCopy/{course}/in%00tro/badinput6", 400, "invalid notebook path"),
    ("/notebookLazyCopy/{course}/in%0atro/badinput7", 400, "invalid notebook path"),
    ("/notebookLazyCopy/{course}/in%1btro/badinput8", 400, "invalid notebook path"),
    ("/notebookLazyCopy/{course}/.git/config/badinput9", 400, "invalid notebook path"),
    ("/notebookLazyCopy/nosuchcourse/intro/badinput10", 404, "There is no course named nosuchcourse"),
    ("/notebookLazyCopy/{course}/nosuch/notebook/badinput11", 404, "has no notebook nosuch/notebook"),
    ("/notebookLazyCopy/{course}/w1/data/numbers.csv/badinput12", 404, "has no notebook"),
    ("/notebookGitRepo/{course}/w1/../intro/badinput13", 400, "invalid notebook path"),
])
def test_bad_links_are_refused_and_create_nothing(stack, legacy_course, path, status, words):
    path = path.format(course=legacy_course)
    got, body = raw_get(stack, path)
    # nginx itself answers 400 for some raw '..' paths that climb above the root: also fine.
    assert got == status or (status == 400 and got == 400 and "nginx" in body), (got, body[:300])
    if "nginx" not in body:
        assert "<h1>" in body and words.lower() in body.lower()
    student = os.path.basename(path)
    assert not created_anything(stack, legacy_course, student.lstrip("-.").replace("%20", " "))


def test_symlink_out_of_the_repo_is_not_a_notebook(stack, demo_repo, tmp_path):
    from tests.stack import git, make_repo

    repo = make_repo(stack.base / "symlink-repo")
    (repo / "leak.ipynb").symlink_to("/etc/shadow")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "a link out")
    course = stack.course("symlinked", repo, "--trust", "legacy")
    got, body = raw_get(stack, f"/notebookLazyCopy/{course}/leak.ipynb/badinput20")
    assert got == 404
    assert not created_anything(stack, course, "badinput20")
