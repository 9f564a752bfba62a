"""The spawn, the lease and resume, branch by branch, on the in-process backend."""
from datetime import timedelta

import pytest
from django.utils import timezone

from nbhosting.containers import lifecycle, spawn
from nbhosting.containers.backend import ServerState
from nbhosting.containers.fake import Misbehaviour
from nbhosting.containers.lease import LeaseTimeout, lease
from nbhosting.containers.models import Container
from nbhosting.monitor.models import Cull
from tests.fake_backend import make_course, pair

pytestmark = [pytest.mark.django_db, pytest.mark.fake, pytest.mark.usefixtures("no_workspaces")]
State = Container.State


def test_a_first_open_creates_starts_and_waits(fake):
    course, student, record = pair(make_course(), "s1")
    ready = spawn.ensure_running(course, student)
    assert ready.cold
    assert [c for c, n in fake.calls if n == record.name and c != "status"] == ["prepare", "create", "start",
                                                                               "wait_ready"]
    record.refresh_from_db()
    assert record.state == State.RUNNING and record.started_at and record.image
    assert fake.reachable(record)
    spec = fake.containers[record.name].spec
    assert spec.uid == student.uid and spec.read_only and spec.restrict_syscalls
    assert spec.labels["nbhosting.course"] == course.name and spec.labels["nbhosting.student"] == "s1"


def test_a_warm_open_asks_nothing_of_the_engine(fake):
    course, student, record = pair(make_course(), "s1")
    spawn.ensure_running(course, student)
    fake.calls.clear()
    ready = spawn.ensure_running(course, student)
    assert not ready.cold and fake.calls == []


def test_a_stopped_server_resumes_in_its_own_container(fake):
    course, student, record = pair(make_course(), "s1")
    spawn.ensure_running(course, student)
    assert lifecycle.stop(record, "test") is lifecycle.Stop.STOPPED
    assert not fake.reachable(record)
    record.refresh_from_db()
    assert record.state == State.STOPPED
    ready = spawn.ensure_running(course, student)
    assert ready.cold and fake.called("create") == [record.name]  # not created again
    assert fake.containers[record.name].starts == 2 and fake.reachable(record)


def test_a_server_stopped_on_an_outdated_image_is_created_anew(fake):
    course, student, record = pair(make_course(), "s1")
    spawn.ensure_running(course, student)
    lifecycle.stop(record, "test")
    fake.add_image(course.image_name)  # rebuilt: a new id
    spawn.ensure_running(course, student)
    assert fake.called("create") == [record.name, record.name] and fake.called("remove") == [record.name]
    assert fake.containers[record.name].image_id == fake.images[course.image_name]


def test_a_server_that_died_is_started_again_on_the_next_open(fake):
    course, student, record = pair(make_course(), "s1")
    spawn.ensure_running(course, student)
    fake.exit(record.name)  # the row still says running: the warm check finds it does not answer
    ready = spawn.ensure_running(course, student)
    assert ready.cold and fake.containers[record.name].state == ServerState.RUNNING


@pytest.mark.parametrize("misbehaviour", [Misbehaviour.NEVER_ANSWERS, Misbehaviour.DIES_AT_START,
                                          Misbehaviour.ENGINE_DOWN])
def test_a_failed_start_leaves_nothing_and_releases_the_lease(fake, misbehaviour):
    course, student, record = pair(make_course(), "s1")
    fake.misbehave(record.name, misbehaviour)
    with pytest.raises(spawn.SpawnError):
        spawn.ensure_running(course, student)
    record.refresh_from_db()
    assert record.state == State.ABSENT and record.lease_owner == ""
    if misbehaviour is not Misbehaviour.ENGINE_DOWN:
        assert record.name not in fake.containers and fake.called("discard") == [record.name]
    del fake.scripts[record.name]  # the next try goes the same way, and works
    assert spawn.ensure_running(course, student).cold


def test_a_slow_start_within_the_deadline_succeeds_beyond_it_fails(fake, settings):
    settings.NBH_SPAWN_TIMEOUT = 60
    course, student, record = pair(make_course(), "slow")
    fake.misbehave(record.name, Misbehaviour.SLOW_START, seconds=30)
    assert spawn.ensure_running(course, student).cold
    _, other, late = pair(course, "late")
    fake.misbehave(late.name, Misbehaviour.SLOW_START, seconds=90)
    with pytest.raises(spawn.SpawnError, match="did not answer in time"):
        spawn.ensure_running(course, other)
    assert late.name not in fake.containers


def test_a_missing_image_is_said_and_nothing_is_created(fake):
    fake.images_exist = False
    course, student, record = pair(make_course(), "s1")
    with pytest.raises(spawn.SpawnError, match="does not exist"):
        spawn.ensure_running(course, student)
    assert fake.called("create") == []


def test_a_start_under_the_lease_finds_the_server_started_meanwhile(fake):
    """What a second worker sees once the first one's start released the lease: a running row
    that answers, so it starts nothing."""
    course, student, record = pair(make_course(), "s1")
    spawn.ensure_running(course, student)
    Container.objects.filter(pk=record.pk).update(state=State.STOPPED)  # as read before the first start
    fake.calls.clear()
    spawn.ensure_running(course, student)
    assert fake.called("create") == [] and fake.called("start") == [] and fake.called("prepare") == []


def test_stop_and_remove_give_way_to_a_start_under_way(fake):
    course, student, record = pair(make_course(), "s1")
    spawn.ensure_running(course, student)
    with lease(record):  # a start (or another stop) in progress
        assert lifecycle.stop(record, "test") is lifecycle.Stop.BUSY
        assert lifecycle.remove(record, "test", only_if_down=False) is False
    assert fake.containers[record.name].state == ServerState.RUNNING
    assert not Cull.objects.filter(container=record.name).exists()


def test_the_monitor_does_not_stop_a_server_opened_since_its_decision(fake):
    course, student, record = pair(make_course(), "s1")
    spawn.ensure_running(course, student)
    decided = timezone.now() - timedelta(minutes=5)
    assert lifecycle.stop(record, "idle", unopened_since=decided) is lifecycle.Stop.OPENED
    assert fake.containers[record.name].state == ServerState.RUNNING


def test_restart_stops_then_starts(fake):
    course, student, record = pair(make_course(), "s1")
    spawn.ensure_running(course, student)
    ready = lifecycle.restart(record, "test")
    assert ready.cold and fake.containers[record.name].starts == 2
    assert Cull.objects.get(container=record.name).action == Cull.Action.STOPPED


def test_removing_a_course_s_containers_refuses_running_ones_unless_forced(fake):
    course, student, record = pair(make_course(), "s1")
    spawn.ensure_running(course, student)
    with pytest.raises(lifecycle.ContainersRunning):
        lifecycle.remove_course_containers(course, "test", force=False)
    assert record.name in fake.containers
    assert lifecycle.remove_course_containers(course, "test", force=True) == 1
    record.refresh_from_db()
    assert record.name not in fake.containers and record.state == State.ABSENT


def test_a_new_secret_removes_the_server_under_the_lease(fake, monkeypatch):
    monkeypatch.setattr(lifecycle, "STAFF_WAIT", 0.2)
    course, student, record = pair(make_course(), "s1")
    spawn.ensure_running(course, student)
    old = record.secret
    lifecycle.renew_secret(record, "test")
    record.refresh_from_db()
    assert record.secret != old and record.state == State.ABSENT and record.name not in fake.containers
    with lease(record):
        with pytest.raises(LeaseTimeout):
            lifecycle.renew_secret(record, "test")


def test_the_spawn_asks_registered_extenders(fake):
    course, student, record = pair(make_course(), "s1")
    extra = spawn.Extras(jupyter_args=["--an-extender-was-here"])
    spawn.register_spec_extender(lambda c, s: extra if c.name == "physics" else spawn.Extras())
    try:
        spawn.ensure_running(course, student)
    finally:
        spawn._extenders.pop()
    assert "--an-extender-was-here" in fake.containers[record.name].spec.command


def test_a_lost_server_is_removed_and_made_again(fake):
    """Its processes were killed behind the engine's back: a start would be refused, so the
    open removes the husk and creates a new container on the same image."""
    course, student, record = pair(make_course(), "s1")
    spawn.ensure_running(course, student)
    fake.lose(record.name)
    fake.calls.clear()
    ready = spawn.ensure_running(course, student)
    assert ready.cold and fake.called("remove") == [record.name] and fake.called("create") == [record.name]
    assert fake.containers[record.name].state == ServerState.RUNNING and fake.reachable(record)
