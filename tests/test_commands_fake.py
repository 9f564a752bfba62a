"""The shared command base on the in-process backend: a course or pair that does not exist, and an
engine that fails, are one line each, never a traceback."""
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from nbhosting.containers import spawn
from nbhosting.containers.backend import ServerState
from nbhosting.containers.fake import Misbehaviour
from tests.fake_backend import make_course, pair

pytestmark = [pytest.mark.django_db, pytest.mark.fake, pytest.mark.usefixtures("no_workspaces")]


def test_an_unknown_course_is_one_line(fake):
    for command in ("course_delete", "course_update", "course_pull"):
        with pytest.raises(CommandError, match="^no course named nowhere$"):
            call_command(command, "nowhere")


def test_an_unknown_pair_is_one_line(fake):
    make_course()
    with pytest.raises(CommandError, match="student nobody has no server in course physics"):
        call_command("container_stop", "physics", "nobody")


def test_an_engine_failure_is_one_line(fake):
    course, student, record = pair(make_course(), "s1")
    spawn.ensure_running(course, student)
    fake.misbehave(record.name, Misbehaviour.ENGINE_DOWN)
    with pytest.raises(CommandError, match="^the container engine failed: fake status of physics-x-s1"):
        call_command("container_stop", "physics", "s1")


def test_container_stop_and_restart_go_through_the_lifecycle(fake, capsys):
    course, student, record = pair(make_course(), "s1")
    spawn.ensure_running(course, student)
    call_command("container_stop", "physics", "s1")
    assert fake.containers[record.name].state == ServerState.STOPPED
    call_command("container_stop", "physics", "s1")
    assert "is not running: nothing to stop" in capsys.readouterr().out
    call_command("container_restart", "physics", "s1")
    assert fake.containers[record.name].state == ServerState.RUNNING and fake.reachable(record)


def test_course_delete_removes_containers_under_their_lease(fake, settings):
    course, student, record = pair(make_course(), "s1")
    spawn.ensure_running(course, student)
    with pytest.raises(CommandError, match="running; use --force"):
        call_command("course_delete", "physics")
    call_command("course_delete", "physics", "--force")
    assert record.name not in fake.containers and fake.called("discard") == [record.name]
