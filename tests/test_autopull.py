"""`nbh course-auto-pull` against a real git repository and a real podman build."""
import secrets
import subprocess

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from nbhosting.containers.backends import get_backend as backend
from nbhosting.courses.models import Course
from nbhosting.dashboard.models import Job
from tests.stack import git, make_repo

CONTAINERFILE = "FROM localhost/nbhosting/base:bookworm\nLABEL org.example.course-version={version}\n"


def label(image: str) -> str:
    return subprocess.run(["podman", "image", "inspect", "--format",
                           '{{index .Labels "org.example.course-version"}}', image],
                          capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def upstream(tmp_path):
    return make_repo(tmp_path / "upstream")


@pytest.fixture
def course(site, db, upstream):
    name = "autopull-" + secrets.token_hex(3)
    call_command("course_create", name, str(upstream))
    course = Course.objects.get(name=name)
    Course.objects.filter(pk=course.pk).update(autopull=True)
    yield course
    subprocess.run(["podman", "rmi", "-f", course.built_image_tag], capture_output=True)


def commit(upstream, path: str, text: str, message: str) -> str:
    (upstream / path).write_text(text)
    git(upstream, "add", "-A")
    git(upstream, "commit", "-qm", message)
    return git(upstream, "rev-parse", "HEAD").strip()


def auto_pull(*args: str) -> None:
    call_command("course_auto_pull", *args)


@pytest.mark.django_db
def test_new_commit_is_pulled_and_changed_containerfile_rebuilds(course, upstream, capsys):
    # A new notebook upstream: pulled, nothing built (no Containerfile yet).
    head = commit(upstream, "new.md", "# New\n", "a new notebook")
    auto_pull("--all")
    course.refresh_from_db()
    assert course.commit == head and (course.repo_dir / "new.md").exists()
    assert course.image_built_at is None
    job = Job.objects.filter(course=course).latest("created")
    assert (job.kind, job.state, job.requested_by) == ("pull", "done", "autopull")
    assert head[:12] in job.log_path.read_text()

    # A Containerfile appears, autobuild off: pulled, still not built.
    commit(upstream, "Containerfile", CONTAINERFILE.format(version=1), "an image")
    auto_pull("--all")
    course.refresh_from_db()
    assert (course.repo_dir / "Containerfile").exists() and course.image_built_at is None

    # autobuild on and the Containerfile changes: the pull rebuilds the course image.
    Course.objects.filter(pk=course.pk).update(autobuild=True)
    head = commit(upstream, "Containerfile", CONTAINERFILE.format(version=2), "image v2")
    auto_pull(course.name)
    course.refresh_from_db()
    assert course.commit == head and course.image_built_at is not None
    assert label(course.built_image_tag) == "2"
    assert course.image_id == backend().image_id(course.built_image_tag)
    assert course.image_name == course.built_image_tag
    job = Job.objects.filter(course=course).latest("created")
    assert job.state == "done" and "image rebuilt" in job.summary
    assert "podman build" in job.log_path.read_text()
    built_at = course.image_built_at

    # A commit that leaves the Containerfile alone: pulled, not rebuilt.
    head = commit(upstream, "other.md", "# Other\n", "another notebook")
    auto_pull("--all")
    course.refresh_from_db()
    assert course.commit == head and course.image_built_at == built_at
    assert capsys.readouterr().out.count(f"{course.name}: done") == 4


@pytest.mark.django_db
def test_failed_pull_is_a_failed_job(course, upstream, tmp_path):
    Course.objects.filter(pk=course.pk).update(git_url=str(tmp_path / "gone"))
    with pytest.raises(CommandError, match="1 course"):
        auto_pull("--all")
    job = Job.objects.filter(course=course).latest("created")
    assert job.state == "failed" and "cannot pull" in job.summary
    assert "FAILED" in job.log_path.read_text()


@pytest.mark.django_db
def test_autopull_skips_courses_without_it_and_archived_ones(course, upstream):
    commit(upstream, "x.md", "# X\n", "x")
    for autopull, archived in ((False, False), (True, True)):
        Course.objects.filter(pk=course.pk).update(autopull=autopull, archived=archived)
        auto_pull("--all")
        assert not Job.objects.filter(course=course).exists()
    with pytest.raises(CommandError, match="--all"):
        auto_pull()
