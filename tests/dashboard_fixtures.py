"""Django-level fixtures shared by the dashboard's unit and view tests (no stack needed)."""
import secrets
import shutil

import pytest
from django.contrib.auth.models import Group, User

from nbhosting.courses.models import Course
from nbhosting.dashboard.models import Job
from tests.stack import DEMO


@pytest.fixture
def site(settings, tmp_path):
    """A private data root and podman instance label, so that nothing of the installed site is touched."""
    settings.DATA_ROOT = tmp_path / "data"
    settings.NBH_INSTANCE = "test-unit-" + secrets.token_hex(4)
    return settings


def make_course(name: str, **fields) -> Course:
    course = Course.objects.create(name=name, git_url=f"/nowhere/{name}.git", **fields)
    shutil.copytree(DEMO, course.repo_dir)
    return course


@pytest.fixture
def courses(site, db):
    """Two courses: 'physics' run by alice (by name) and the 'physics-ta' group; 'history' by bob."""
    physics = make_course("physics", staff="alice, @physics-ta")
    history = make_course("history", staff="bob")
    Job.objects.create(course=history, kind=Job.Kind.PULL)
    Job.objects.create(course=physics, kind=Job.Kind.PULL)
    return physics, history


@pytest.fixture
def alice(db):
    return User.objects.create_user("alice", password="alice-password-1")


@pytest.fixture
def bob(db):
    return User.objects.create_user("bob", password="bob-password-1")


@pytest.fixture
def ta(db):
    user = User.objects.create_user("carol", password="carol-password-1")
    user.groups.add(Group.objects.create(name="physics-ta"))
    return user


@pytest.fixture
def admin(db):
    return User.objects.create_user("root-admin", password="admin-password-1", is_staff=True)
