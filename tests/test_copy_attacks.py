"""Copying a notebook never reaches a host file, never leaves a partial copy, and never tells a
student anything about another student's files: through a course's committed symlinks, through
a copy that fails halfway, and through links a student makes in their own workspace."""
import os
import shutil

import pytest

from tests.helpers import new_student, open_link, open_notebook
from tests.jupyter_api import execute, kernels_settled
from tests.stack import DEMO, git, make_repo


def tree(folder) -> set[str]:
    """Every entry under a folder, as root sees it, without following any link."""
    found = set()
    for parent, folders, files in os.walk(folder, followlinks=False):
        for name in folders + files:
            found.add(os.path.relpath(os.path.join(parent, name), folder))
    return found


@pytest.fixture(scope="module")
def linked_course(stack):
    """A course whose repository commits symlinks: a data folder that is /etc, a media folder
    that is another folder of the course, and links to the host inside a real folder."""
    source = make_repo(stack.base / "linked-repo")
    (source / "w2").mkdir()
    shutil.copy(DEMO / "intro.ipynb", source / "w2" / "nb2.ipynb")
    (source / "w2" / "data").symlink_to("/etc")
    (source / "w2" / "media").symlink_to("../w1/data")
    figures = source / "w2" / "figures"
    figures.mkdir()
    (figures / "plot.txt").write_text("a figure\n")
    (figures / "host").symlink_to("/etc")
    (figures / "passwd").symlink_to("/etc/passwd")
    (figures / "numbers.csv").symlink_to("../../w1/data/numbers.csv")  # inside the course: kept as a link
    (source / "w3").mkdir()
    shutil.copy(DEMO / "intro.ipynb", source / "w3" / "nb3.ipynb")
    (source / "w3" / "data").mkdir()
    for n in range(20):
        (source / "w3" / "data" / f"part{n:02}.csv").write_text(f"x\n{n}\n")
    git(source, "add", "-A")
    git(source, "commit", "-qm", "week 2 and 3, with links")
    return stack.course("linked", source, "--trust", "legacy")


def test_a_course_symlink_to_the_host_is_never_copied(stack, linked_course):
    student = new_student()
    for _ in range(2):
        response = open_link(stack, "notebookLazyCopy", linked_course, "w2/nb2", student)
        assert response.status_code == 302, response.text[:300]
    workspace = stack.data / "workspaces" / linked_course / student
    found = tree(workspace / "w2")
    # The notebook and the real folder came; /etc did not, nor the in-course symlinked folder.
    assert found == {"nb2.ipynb", "figures", "figures/plot.txt", "figures/numbers.csv"}, found
    assert (workspace / "w2" / "figures" / "numbers.csv").is_symlink()
    assert not [name for name in tree(workspace) if "nbh-partial" in name or "passwd" in name]


def test_a_copy_that_fails_halfway_leaves_nothing_and_says_so(stack, linked_course):
    # One file of the course that a student's uid cannot read: the copy of w3/data fails midway.
    unreadable = stack.data / "courses" / linked_course / "repo" / "w3" / "data" / "part10.csv"
    unreadable.chmod(0o600)
    try:
        student = new_student()
        for _ in range(2):
            response = open_link(stack, "notebookLazyCopy", linked_course, "w3/nb3", student)
            assert 400 <= response.status_code < 600 and response.status_code != 503, response.status_code
            assert "could not be copied" in response.text and "w3/data" in response.text
        workspace = stack.data / "workspaces" / linked_course / student
        assert tree(workspace) <= {"w3"}  # nothing half-made, not even the notebook
    finally:
        unreadable.chmod(0o644)
    # Once the course is fixed, the same student opens it whole.
    open_notebook(stack, linked_course, "w3/nb3", student)
    assert len(list((workspace / "w3" / "data").iterdir())) == 20


def test_a_students_own_link_tells_nothing_of_another_student(stack, legacy_course):
    """A links a folder of their workspace to B's, then opens: the answer must not depend on
    what B has (before, 302 when B had the notebook, 503 when not)."""
    a, b = new_student("a"), new_student("b")
    b_server, _ = open_notebook(stack, legacy_course, "w1/1.2-intro", b)
    kernels_settled(b_server)  # B's own kernel, started for the page, writes .ipython/ as it starts
    workspaces = stack.data / "workspaces" / legacy_course
    b_before = tree(workspaces / b)
    assert "w1/1.2-intro.ipynb" in b_before and "text" not in b_before
    server, _ = open_notebook(stack, legacy_course, "intro", a)
    execute(server, f"import os\nos.symlink('{workspaces / b / 'w1'}', 'w1')\n"
                    f"os.symlink('{workspaces / b / 'text'}', 'text')\n")
    has = open_link(stack, "notebookLazyCopy", legacy_course, "w1/1.2-intro", a)
    has_not = open_link(stack, "notebookLazyCopy", legacy_course, "text/myst-notebook", a)
    assert (has.status_code, has_not.status_code) == (409, 409)
    assert "is not a folder" in has.text and "is not a folder" in has_not.text
    assert tree(workspaces / b) == b_before


def test_a_students_git_link_tells_nothing_of_host_paths(stack, legacy_course):
    """Classroom mode once looked for .git as root following a link, an oracle on any host path:
    the answer must be the same whatever the link points at."""
    student = new_student()
    server, _ = open_notebook(stack, legacy_course, "intro", student)
    answers = []
    for target in ("/etc/shadow", "/nonexistent-nbh"):
        execute(server, f"import os\nif os.path.lexists('.git'): os.remove('.git')\nos.symlink('{target}', '.git')\n")
        answers.append(open_link(stack, "notebookGitRepo", legacy_course, "intro", student).status_code)
    assert answers[0] == answers[1] and answers[0] < 500, answers
