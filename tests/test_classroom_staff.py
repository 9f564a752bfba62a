"""Staff's classroom pages: the students table (groups, progress per notebook, sorted, filtered and
paged by the server), and the droparea run for real as each student's uid (no containers)."""
import hashlib
import os
import secrets
import shutil
import tempfile
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from nbhosting.accounts import identity
from nbhosting.classroom import staff
from nbhosting.classroom.models import DropFile
from nbhosting.courses.models import Course
from nbhosting.stats.models import OpenEvent
from nbhosting.workspaces import workspace
from nbhosting.workspaces.models import get_or_create_student
from tests.stack import DEMO

pytestmark = pytest.mark.django_db


def test_the_students_table_pages_sorts_and_filters_on_the_server(courses, alice):
    physics = courses[0]
    for n in range(120):
        user = User.objects.create_user(f"st{n:03d}", first_name=f"Student {n}")
        student = identity.link_account(user, f"st{n:03d}").student
        identity.enroll(physics, student, group="A" if n % 3 else "B")
        for notebook in ("intro.ipynb", "w1/1.2-intro.ipynb")[: n % 3]:
            OpenEvent.objects.create(course="physics", student=student.name, notebook=notebook, action="created",
                                     cold=True, seconds=1)
    client = Client()
    client.force_login(alice)
    first = client.get("/staff/course/physics/students/")
    assert first.status_code == 200
    assert first.content.count(b"<tr data-student=") == 50 and b"page 1 of 3" in first.content
    assert b"st000" in first.content and b"st050" not in first.content
    last = client.get("/staff/course/physics/students/?page=3")
    assert last.content.count(b"<tr data-student=") == 20 and b"st119" in last.content

    busiest = client.get("/staff/course/physics/students/?sort=-opened").content.decode()
    rows = busiest.split("<tr data-student=")[1:]
    assert all(">2/4<" in row for row in rows[:40]) and ">2/4<" not in rows[45]
    group_b = client.get("/staff/course/physics/students/?group=B")
    assert group_b.content.count(b"<tr data-student=") == 40 and b"page 1 of 1" in group_b.content
    named = client.get("/staff/course/physics/students/?q=Student 11")
    assert named.content.count(b"<tr data-student=") == 11  # 11, 110..119
    assert b'class="group" href="?group=A' in first.content
    page = client.get("/staff/course/physics/").content.decode()
    assert 'id="groups"' in page and "A</a> (80)" in page and "B</a> (40)" in page


# -- droparea, for real -------------------------------------------------------------------------
@pytest.fixture
def data(settings):
    base = Path(tempfile.mkdtemp(prefix="nbh-drop-", dir="/var/tmp"))
    base.chmod(0o755)
    settings.DATA_ROOT = base / "data"
    settings.NBH_UID_MIN = 3_000_000 + secrets.randbelow(900) * 1000
    settings.NBH_UID_MAX = settings.NBH_UID_MIN + 999
    yield settings.DATA_ROOT
    shutil.rmtree(base, ignore_errors=True)


def as_student(student, action) -> None:
    """Does what the student would do in their container: as their uid."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(student.gid)
            os.setuid(student.uid)
            action()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def test_the_droparea_never_overwrites_a_students_change_nor_follows_a_link(data):
    course = Course.objects.create(name="drops", git_url="/nowhere")
    shutil.copytree(DEMO, course.repo_dir)
    names = ["fresh", "untouched", "changed", "linked", "linked-folder", "enrolled"]
    students = {name: get_or_create_student(name) for name in names}
    for name in names[:-1]:
        workspace.ensure(course, students[name])
    identity.enroll(course, students["enrolled"])  # no workspace yet
    outside = data / "outside"
    outside.mkdir()
    (outside / "notes.md").write_text("not the student's")
    outside.chmod(0o777)
    old = b"week 1 notes\n"
    DropFile.objects.create(course=course, path="w1/notes.md", digest=hashlib.sha256(old).hexdigest(),
                            size=len(old), by="teacher")

    def home(name: str) -> Path:
        return workspace.workspace_dir(course, students[name])

    def plant(name: str, action) -> None:
        as_student(students[name], lambda: (os.chdir(home(name)), action()))

    plant("untouched", lambda: (os.mkdir("w1"), Path("w1/notes.md").write_bytes(old)))
    plant("changed", lambda: (os.mkdir("w1"), Path("w1/notes.md").write_text("my own notes\n")))
    plant("linked", lambda: (os.mkdir("w1"), os.symlink(outside / "notes.md", "w1/notes.md")))
    plant("linked-folder", lambda: os.symlink(outside, "w1"))
    items = [staff.Item("w1/notes.md", b"week 1 notes, corrected\n")]

    def actions(results) -> dict[str, str]:
        return {name: rows[0]["action"] for name, rows in results}

    expected = {"fresh": "create", "untouched": "update", "changed": "kept", "linked": "blocked",
                "linked-folder": "blocked", "enrolled": "create"}
    assert actions(staff.drop(course, items, dry_run=True, by="teacher")) == expected
    assert not (home("fresh") / "w1").exists() and not home("enrolled").exists()  # a dry run changes nothing
    assert (home("untouched") / "w1" / "notes.md").read_bytes() == old

    assert actions(staff.drop(course, items, dry_run=False, by="teacher")) == expected
    for name in ("fresh", "untouched", "enrolled"):
        path = home(name) / "w1" / "notes.md"
        assert path.read_bytes() == b"week 1 notes, corrected\n"
        assert path.stat().st_uid == students[name].uid
    assert (home("changed") / "w1" / "notes.md").read_text() == "my own notes\n"
    assert (outside / "notes.md").read_text() == "not the student's" and os.listdir(outside) == ["notes.md"]
    assert (home("linked") / "w1" / "notes.md").is_symlink()
    # The same drop again: every file is as dropped, or the student's.
    again = actions(staff.drop(course, items, dry_run=True, by="teacher"))
    assert again == {**expected, "fresh": "same", "untouched": "same", "enrolled": "same"}


def test_the_droparea_pages_dry_run_then_drop(courses, alice, data):
    physics = Course.objects.get(name="physics")
    identity.enroll(physics, get_or_create_student("pat"))
    client = Client()
    client.force_login(alice)
    upload = SimpleUploadedFile("data.csv", b"x,y\n1,2\n")
    dry = client.post("/staff/course/physics/droparea/run/", {"files": upload, "folder": "extra", "mode": "dry-run"})
    assert dry.status_code == 200 and b"Dry run" in dry.content and b"drop-create" in dry.content
    assert not workspace.workspace_dir(physics, get_or_create_student("pat")).exists()
    staged = dry.content.decode().split('name="staged" value="')[1].split('"')[0]
    done = client.post("/staff/course/physics/droparea/run/", {"staged": staged, "mode": "drop"})
    assert b"Done" in done.content
    assert (workspace.workspace_dir(physics, get_or_create_student("pat")) / "extra" / "data.csv").read_bytes() \
        == b"x,y\n1,2\n"
    bad = client.post("/staff/course/physics/droparea/run/", {"files": SimpleUploadedFile("x", b""), "folder": "../up"})
    assert bad.status_code == 400 and b"invalid path" in bad.content
