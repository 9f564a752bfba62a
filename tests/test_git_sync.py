"""Git mode's clone and merge, run for real (git, nbgitpuller, the student's uid) without containers:
a MOOC workspace becomes a clone without losing a file, merges keep the student's edits and say
where, and a repository configured to run commands is not merged."""
import json
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from nbhosting import opening
from nbhosting.courses.models import Course
from nbhosting.workspaces import workspace
from nbhosting.workspaces.models import NotebookVersion, Sync, get_or_create_student
from nbhosting.workspaces.notebooks import resolve
from tests.stack import DEMO, git

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(settings):
    """A data root that students' uids can traverse, as on a real site (pytest's tmp_path is root's 0700)."""
    base = Path(tempfile.mkdtemp(prefix="nbh-sync-", dir="/var/tmp"))
    base.chmod(0o755)
    settings.DATA_ROOT = base / "data"
    settings.NBH_UID_MIN = 3_000_000 + secrets.randbelow(900) * 1000
    settings.NBH_UID_MAX = settings.NBH_UID_MIN + 999
    settings.NBH_INSTANCE = "test-sync-" + secrets.token_hex(4)
    yield settings.DATA_ROOT
    shutil.rmtree(base, ignore_errors=True)


def make_course(name: str) -> Course:
    course = Course.objects.create(name=name, git_url="/nowhere")
    course.repo_dir.parent.mkdir(parents=True)
    course.repo_dir.parent.parent.chmod(0o755)
    shutil.copytree(DEMO, course.repo_dir)
    git(course.repo_dir, "init", "-q", "-b", "main")
    commit(course, "course material")
    return course


def commit(course: Course, message: str) -> None:
    git(course.repo_dir, "add", "-A")
    git(course.repo_dir, "commit", "-qm", message)
    course.commit = git(course.repo_dir, "rev-parse", "HEAD").strip()
    course.save()


def edit_notebook(path: Path, cell: int, line: int, text: str) -> None:
    notebook = json.loads(path.read_text())
    source = notebook["cells"][cell]["source"]
    source[line] = text + ("\n" if source[line].endswith("\n") else "")
    path.write_text(json.dumps(notebook, indent=1) + "\n")


def as_student(student, *args: str, cwd: Path) -> str:
    return subprocess.run(args, cwd=cwd, user=student.uid, group=student.gid, extra_groups=[], check=True,
                          capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "HOME": str(cwd)}).stdout


def test_a_moocs_workspace_becomes_a_clone_keeping_every_file(data):
    course, student = make_course("adopt"), get_or_create_student("ann")
    notebook = resolve(course.repo_dir, "intro")
    workspace.copy_notebook(course, student, notebook, reset=False)
    home = workspace.workspace_dir(course, student)
    edit_notebook(home / "intro.ipynb", 1, 2, "40 + 2  # mine")
    as_student(student, "sh", "-c", "echo notes > notes.txt; mkdir -p w1; echo x > w1/answer.py", cwd=home)
    os.chown(home / "intro.ipynb", student.uid, student.gid)
    mine = (home / "intro.ipynb").read_bytes()

    assert workspace.git_clone(course, student) is True
    sync = Sync.objects.get(student=student)
    assert sync.kind == "adopted" and sync.kept == ["intro.ipynb"] and not sync.seen
    assert (home / "intro.ipynb").read_bytes() == mine  # the student's version, untouched
    assert (home / "notes.txt").read_text() == "notes\n" and (home / "w1" / "answer.py").exists()
    assert (home / "w1" / "1.2-intro.ipynb").exists() and (home / "text" / "myst-notebook.md").exists()
    assert as_student(student, "git", "remote", "get-url", "origin", cwd=home).strip() == "/course"
    status = as_student(student, "git", "status", "--porcelain", cwd=home)
    assert " M intro.ipynb" in status and "?? notes.txt" in status
    assert {p.name for p in home.iterdir()} >= {".git", "intro.ipynb", "notes.txt"}
    assert not (home / ".nbh-clone-partial").exists()
    assert all(p.stat().st_uid == student.uid for p in (home / ".git").iterdir())
    versions = {v.path: v for v in NotebookVersion.objects.filter(student=student)}
    assert versions["intro.ipynb"].differs and not versions["w1/1.2-intro.ipynb"].differs
    assert workspace.git_clone(course, student) is False  # cloned once


def test_a_merge_keeps_the_students_edits_and_says_where(data):
    course, student = make_course("merge"), get_or_create_student("bea")
    assert opening.update_clone(course, student).kind == "cloned"
    assert opening.update_clone(course, student) is None  # nothing new: no merge at all
    home = workspace.workspace_dir(course, student)
    as_student(student, "python3", "-c", """
import json
p = 'intro.ipynb'; nb = json.load(open(p))
nb['cells'][1]['source'][2] = '1 + 1  # my answer'
json.dump(nb, open(p, 'w'), indent=1)
open('w2.md', 'w').write('my own w2')
""", cwd=home)
    # The teacher changes the same line, another cell, and adds a notebook where the student has a file.
    edit_notebook(course.repo_dir / "intro.ipynb", 1, 2, "2 + 2")
    edit_notebook(course.repo_dir / "intro.ipynb", 0, 0, "# Welcome, class")
    (course.repo_dir / "w2.md").write_text("# Week 2\n")
    commit(course, "week 2")

    sync = opening.update_clone(course, student)
    assert sync.kind == "merged", sync.error
    assert sync.kept == ["intro.ipynb"]
    assert sorted(sync.updated) == [["A", "w2.md"], ["M", "intro.ipynb"]]
    assert len(sync.renamed) == 1 and sync.renamed[0][0] == "w2.md"
    merged = json.loads((home / "intro.ipynb").read_text())  # still a notebook
    assert merged["cells"][1]["source"][2] == "1 + 1  # my answer"  # the student's line won
    assert merged["cells"][0]["source"][0] == "# Welcome, class\n"  # the course's other change came in
    assert (home / "w2.md").read_text() == "# Week 2\n"
    assert (home / sync.renamed[0][1]).read_text() == "my own w2"
    assert sync.commit == course.commit and not workspace.behind(course, student)
    version = NotebookVersion.objects.get(student=student, path="intro.ipynb")
    assert version.differs and version.digest == git(course.repo_dir, "rev-parse", "HEAD:intro.ipynb").strip()


def test_a_repository_set_to_run_commands_is_not_merged(data):
    course, student = make_course("hooks"), get_or_create_student("cid")
    opening.update_clone(course, student)
    home = workspace.workspace_dir(course, student)
    marker = home / "hook-ran"  # somewhere the student may write
    hook = home / ".git" / "hooks" / "post-merge"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
    hook.chmod(0o755)
    (course.repo_dir / "more.md").write_text("# More\n")
    commit(course, "more")
    assert opening.update_clone(course, student).kind == "merged"
    assert (home / "more.md").exists() and not marker.exists()  # hooks never run

    as_student(student, "git", "config", "filter.x.clean", f"sh -c 'touch {marker}; cat'", cwd=home)
    as_student(student, "sh", "-c", "echo '* filter=x' > .gitattributes; echo more >> intro.ipynb", cwd=home)
    (course.repo_dir / "again.md").write_text("# Again\n")
    commit(course, "again")
    sync = opening.update_clone(course, student)
    assert sync.kind == "failed" and "filter.x.clean" in sync.error
    assert not (home / "again.md").exists() and not marker.exists()
    assert not workspace.behind(course, student)  # not retried at every open; on demand it is
    assert opening.update_clone(course, student, force=True).kind == "failed"
