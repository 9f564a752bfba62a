"""The monitor's reconciliation, branch by branch, on the in-process backend: the row follows the
engine, the tiers stop and remove through the lifecycle, and a start under way is left alone."""
import subprocess
from datetime import timedelta

import pytest
from django.utils import timezone

from nbhosting.containers import lease as leases
from nbhosting.containers import spawn
from nbhosting.containers.backend import Activity, ContainerSpec, ServerState
from nbhosting.containers.fake import Misbehaviour
from nbhosting.containers.lease import lease
from nbhosting.containers.models import Container
from nbhosting.monitor import cycle
from nbhosting.monitor.models import Cull
from tests.fake_backend import make_course, pair

pytestmark = [pytest.mark.django_db, pytest.mark.fake, pytest.mark.usefixtures("no_workspaces")]
State = Container.State
HOUR = timedelta(hours=1)


@pytest.fixture
def running(fake):
    course, student, record = pair(make_course(), "s1")
    spawn.ensure_running(course, student)
    record.refresh_from_db()
    return record


def culls(record: Container) -> list[tuple[str, str]]:
    return [(c.action, c.reason) for c in Cull.objects.filter(container=record.name).order_by("pk")]


def test_a_busy_server_is_counted_and_kept(fake, running):
    fake.set_activity(running.name, Activity(answered=True, kernels=2, busy_kernels=1))
    Container.objects.filter(pk=running.pk).update(last_open=timezone.now() - 5 * HOUR,
                                                   started_at=timezone.now() - 5 * HOUR)
    done = cycle.run(fake)
    assert (done.running, done.stopped, done.kernels, done.busy_kernels, done.culled) == (1, 0, 2, 1, 0)
    assert fake.containers[running.name].state == ServerState.RUNNING


def test_an_idle_server_is_stopped_through_the_lifecycle(fake, running, settings):
    settings.NBH_CULL_SERVER_AFTER = 3600
    Container.objects.filter(pk=running.pk).update(last_open=timezone.now() - 2 * HOUR,
                                                   started_at=timezone.now() - 2 * HOUR)
    fake.set_activity(running.name, Activity(answered=True, last_activity=timezone.now() - 2 * HOUR))
    done = cycle.run(fake)
    running.refresh_from_db()
    assert done.culled == 1 and done.stopped == 1 and done.running == 0
    assert running.state == State.STOPPED and fake.containers[running.name].state == ServerState.STOPPED
    assert not fake.reachable(running) and fake.called("close") == [running.name]
    assert culls(running)[0][0] == Cull.Action.STOPPED and "idle" in culls(running)[0][1]


def test_a_connection_keeps_an_idle_server(fake, running):
    Container.objects.filter(pk=running.pk).update(last_open=timezone.now() - 5 * HOUR,
                                                   started_at=timezone.now() - 5 * HOUR)
    fake.set_activity(running.name, Activity(answered=True, last_activity=timezone.now() - 5 * HOUR,
                                             connections=1))
    assert cycle.run(fake).culled == 0


def test_a_server_that_exited_on_its_own_is_marked_stopped(fake, running):
    fake.exit(running.name)
    cycle.run(fake)
    running.refresh_from_db()
    assert running.state == State.STOPPED
    assert culls(running) == [(Cull.Action.MARKED, "container stopped on its own")]
    assert running.name not in fake.prepared  # the sweep closed its address


def test_a_container_that_disappeared_is_marked_absent(fake, running):
    fake.forget(running.name)
    cycle.run(fake)
    running.refresh_from_db()
    assert running.state == State.ABSENT and culls(running)[0] == (Cull.Action.MARKED, "container disappeared")
    assert fake.called("discard") == [running.name] and running.name not in fake.prepared


def test_a_running_container_recorded_stopped_is_marked_running(fake, running):
    Container.objects.filter(pk=running.pk).update(state=State.STOPPED)
    cycle.run(fake)
    running.refresh_from_db()
    assert running.state == State.RUNNING and culls(running)[0][0] == Cull.Action.MARKED


def test_a_long_stopped_container_is_removed(fake, running, settings):
    settings.NBH_REMOVE_AFTER = 3600
    fake.exit(running.name, when=timezone.now() - 2 * HOUR)
    Container.objects.filter(pk=running.pk).update(state=State.STOPPED)
    done = cycle.run(fake)
    running.refresh_from_db()
    assert done.culled == 1 and running.state == State.ABSENT and running.name not in fake.containers
    assert culls(running)[-1][0] == Cull.Action.REMOVED


def test_a_pair_under_its_lease_is_left_alone(fake, running):
    fake.exit(running.name)
    with lease(running):  # a start under way: its row is about to change
        cycle.run(fake)
    running.refresh_from_db()
    assert running.state == State.RUNNING and culls(running) == []


def test_a_pair_whose_lease_holder_died_is_taken_over(fake, running):
    """A start whose worker was killed: the cycle frees its lease at once, rather than leaving the
    pair alone until the lease expires, and brings the row in line."""
    fake.exit(running.name)
    worker = subprocess.Popen(["sleep", "600"])
    Container.objects.filter(pk=running.pk).update(lease_owner=leases.holder(worker.pid),
                                                   lease_until=timezone.now() + HOUR)
    cycle.run(fake)  # alive: a start under way, left alone
    running.refresh_from_db()
    assert running.state == State.RUNNING and running.lease_until is not None
    worker.kill()
    worker.wait()
    cycle.run(fake)
    running.refresh_from_db()
    assert running.state == State.STOPPED and (running.lease_owner, running.lease_until) == ("", None)
    assert culls(running) == [(Cull.Action.MARKED, "container stopped on its own")]


def test_a_slow_start_is_counted_running_and_not_culled(fake, settings):
    settings.NBH_CULL_SERVER_AFTER = 1
    course, student, record = pair(make_course(), "slow")
    fake.create(spawn.spec(record))
    fake.misbehave(record.name, Misbehaviour.SLOW_START, seconds=5)
    fake.start(record.name)
    done = cycle.run(fake)
    assert done.running == 1 and done.culled == 0
    assert fake.containers[record.name].state == ServerState.STARTING


def test_an_unknown_container_is_reported_then_removed(fake, settings):
    settings.NBH_REMOVE_AFTER = 3600
    labels = {**spawn.labels_of_instance(), "nbhosting.course": "gone", "nbhosting.student": "x"}
    fake.create(ContainerSpec(name="gone-x-x", image="any", command=[], uid=1, gid=1, mounts=[],
                              environment={}, labels=labels))
    assert cycle.run(fake).culled == 0 and "gone-x-x" in fake.containers
    fake.age("gone-x-x", created=timezone.now() - 2 * HOUR)
    assert cycle.run(fake).culled == 1 and "gone-x-x" not in fake.containers
    assert fake.called("discard_unknown") == ["gone-x-x"]


def test_other_instances_containers_are_never_touched(fake, settings):
    settings.NBH_REMOVE_AFTER = 0
    fake.create(ContainerSpec(name="theirs", image="any", command=[], uid=1, gid=1, mounts=[],
                              environment={}, labels={"nbhosting.instance": "another-site"}))
    cycle.run(fake)
    assert "theirs" in fake.containers


def test_one_failing_container_does_not_stop_the_cycle(fake, settings):
    settings.NBH_CULL_SERVER_AFTER = 3600
    course = make_course()
    records = []
    for name in ("bad", "good"):
        _, student, record = pair(course, name)
        spawn.ensure_running(course, student)
        records.append(record)
    Container.objects.update(last_open=timezone.now() - 2 * HOUR, started_at=timezone.now() - 2 * HOUR)
    fake.misbehave(records[0].name, Misbehaviour.ENGINE_DOWN)  # its stop fails
    done = cycle.run(fake)
    assert done.errors == 1 and done.culled == 1
    assert fake.containers[records[1].name].state == ServerState.STOPPED


def test_a_lost_server_is_removed_at_once(fake, running):
    fake.lose(running.name)
    done = cycle.run(fake)
    assert running.name not in fake.containers and done.culled == 1
    running.refresh_from_db()
    assert running.state == State.ABSENT
    assert culls(running) == [("removed", "container lost but its processes are gone")]
