"""Fixtures of the tests that run on the in-process backend (nbhosting/containers/fake.py): no
root, no podman, no nginx. The backend is chosen by the setting NBH_BACKEND alone."""
import secrets
import shutil
from pathlib import Path

import pytest

from nbhosting.containers import backends, spawn
from nbhosting.containers.fake import FakeBackend
from nbhosting.containers.models import Container
from nbhosting.courses.models import Course
from nbhosting.workspaces.models import Student, get_or_create_student
from tests.stack import DEMO

FAKE = "nbhosting.containers.fake.FakeBackend"


@pytest.fixture
def fake(settings, tmp_path) -> FakeBackend:
    """A fresh fake, selected by the setting; a private data root and instance label."""
    settings.NBH_BACKEND = FAKE
    settings.DATA_ROOT = tmp_path / "data"
    settings.DATA_ROOT.mkdir()
    settings.NBH_INSTANCE = "test-fake-" + secrets.token_hex(4)
    settings.NBH_UID_MIN, settings.NBH_UID_MAX = 7_000_000, 7_000_999
    backends.reset()
    chosen = backends.get_backend()
    assert isinstance(chosen, FakeBackend)
    yield chosen
    backends.reset()


@pytest.fixture
def no_workspaces(monkeypatch, tmp_path):
    """The spawn mounts a workspace folder: a plain one in tmp, so that no root is needed."""
    def ensure(course: Course, student: Student) -> Path:
        folder = tmp_path / "workspaces" / course.name / student.name
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    monkeypatch.setattr(spawn, "ensure_workspace", ensure)


def make_course(name: str = "physics") -> Course:
    course = Course.objects.create(name=name, git_url=f"/nowhere/{name}.git")
    shutil.copytree(DEMO, course.repo_dir)
    return course


def pair(course: Course, student: str) -> tuple[Course, Student, Container]:
    who = get_or_create_student(student)
    return course, who, spawn.get_record(course, who)
