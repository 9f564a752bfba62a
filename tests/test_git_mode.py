"""Classroom mode: the workspace is a git clone of the course, which the student can pull later."""
from tests.helpers import new_student, open_link, open_notebook
from tests.jupyter_api import contents, execute
from tests.stack import git, make_repo


def test_git_mode_clones_the_course_and_pulls_from_inside(stack):
    upstream = make_repo(stack.base / "classroom-repo")
    course = stack.course("classroom", upstream, "--trust", "legacy")
    student = new_student()
    server, path = open_notebook(stack, course, "w1/1.2-intro.ipynb", student, route="notebookGitRepo")
    assert path == "w1/1.2-intro.ipynb"
    assert contents(server, path)["type"] == "notebook"
    workspace = stack.data / "workspaces" / course / student
    assert (workspace / ".git").is_dir() and (workspace / "text" / "myst-notebook.md").is_file()
    (uid,) = stack.query("select uid from workspaces_student where name = ?", student)[0]
    assert (workspace / ".git").stat().st_uid == uid

    # The teacher publishes more; the platform pulls; the student pulls from their container.
    (upstream / "w2.md").write_text("# Week 2\n")
    git(upstream, "add", "-A")
    git(upstream, "commit", "-qm", "week 2")
    stack.nbh("course-pull", course)
    output = execute(server, "import subprocess\n"
                             "print(subprocess.run(['git', 'pull', '-q'], capture_output=True, text=True).returncode)\n"
                             "import os; print(os.path.exists('w2.md'))")
    assert output.split() == ["0", "True"]

    # Reopening never clones again.
    assert open_link(stack, "notebookGitRepo", course, "intro", student).status_code == 302
    assert stack.query("select action from stats_openevent where student = ? order by id", student) == [
        ("cloned",), ("existing",)]
