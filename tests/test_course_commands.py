"""The admin's nbh course commands, against the real stack and real git repos."""
from tests.helpers import new_student, open_notebook
from tests.stack import git, make_repo


def one_line_error(proc) -> str:
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_course_create_refuses_bad_input_and_creates_nothing(stack, demo_repo):
    courses = stack.data / "courses"
    before = sorted(p.name for p in courses.iterdir()) if courses.exists() else []
    assert "invalid course name" in one_line_error(stack.nbh("course-create", "bad/name", str(demo_repo), check=False))
    assert "invalid course name" in one_line_error(stack.nbh("course-create", "a-x-b", str(demo_repo), check=False))
    assert "does not exist" in one_line_error(stack.nbh("course-create", "ghost", "/nonexistent/repo", check=False))
    assert "invalid choice" in one_line_error(
        stack.nbh("course-create", "t1", str(demo_repo), "--trust", "none", check=False))
    after = sorted(p.name for p in courses.iterdir()) if courses.exists() else []
    assert after == before
    assert stack.query("select count(*) from courses_course where name in ('ghost', 't1', 'a-x-b')") == [(0,)]


def test_create_list_pull_update(stack):
    repo = make_repo(stack.base / "managed-repo")
    assert "created at" in stack.nbh("course-create", "managed", str(repo)).stdout
    assert "already exists" in one_line_error(stack.nbh("course-create", "managed", str(repo), check=False))
    assert "differ in case only" in one_line_error(stack.nbh("course-create", "Managed", str(repo), check=False))
    assert stack.query("select count(*) from courses_course where name = 'Managed'") == [(0,)]
    assert not (stack.data / "courses" / "Managed").exists()
    listed = {line.split()[0]: line.split() for line in stack.nbh("course-list").stdout.splitlines()[1:]}
    assert listed["managed"][1] == "signed"

    (repo / "new.md").write_text("# New\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "new notebook")
    head = git(repo, "rev-parse", "HEAD").strip()
    assert head[:12] in stack.nbh("course-pull", "managed").stdout
    assert (stack.data / "courses" / "managed" / "repo" / "new.md").exists()
    assert "no course named nope" in one_line_error(stack.nbh("course-pull", "nope", check=False))

    stack.nbh("course-update", "managed", "--trust", "legacy", "--referer", "moodle.example.edu")
    assert stack.query("select trust, referers from courses_course where name = 'managed'") == [
        ("legacy", "moodle.example.edu")]


def test_course_delete_refuses_while_running_then_archives(stack):
    repo = make_repo(stack.base / "doomed-repo")
    stack.course("doomed", repo, "--trust", "legacy")
    student = new_student()
    open_notebook(stack, "doomed", "intro", student)
    assert "running" in one_line_error(stack.nbh("course-delete", "doomed", check=False))
    assert f"doomed-x-{student}" in stack.podman_names()

    out = stack.nbh("course-delete", "doomed", "--force").stdout
    assert f"doomed-x-{student}" not in stack.podman_names()
    assert stack.query("select count(*) from courses_course where name = 'doomed'") == [(0,)]
    archive = next((stack.data / "archive").glob("doomed-*"))
    assert str(archive) in out
    # The student's work is archived, never destroyed.
    assert (archive / "workspaces" / student / "intro.ipynb").is_file()
    assert (archive / "course" / "repo" / ".git").is_dir()
    assert not (stack.data / "workspaces" / "doomed").exists()
