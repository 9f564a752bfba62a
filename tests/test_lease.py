"""Unit tests: the per-pair lease is exclusive, released, taken over once expired, and taken over
at once when its holder process is gone (a real process, killed with SIGKILL while holding it)."""
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from nbhosting.containers import lease as leases
from nbhosting.containers.lease import LeaseTimeout, lease
from nbhosting.containers.models import Container
from nbhosting.courses.models import Course
from nbhosting.starts import queue
from nbhosting.starts.models import Start
from nbhosting.workspaces.models import get_or_create_student

pytestmark = pytest.mark.django_db


@pytest.fixture
def record(settings):
    settings.NBH_UID_MIN, settings.NBH_UID_MAX = 5000, 5001
    course = Course.objects.create(name="c1", git_url="/nowhere")
    return Container.objects.create(course=course, student=get_or_create_student("s1"), name="c1-x-s1")


def test_lease_is_exclusive_and_released(record):
    with lease(record):
        with pytest.raises(LeaseTimeout):
            with lease(record, wait=0.3):
                pass
    record.refresh_from_db()
    assert record.lease_owner == "" and record.lease_until is None
    with lease(record, wait=0):
        pass


def test_expired_lease_is_taken_over(record):
    Container.objects.filter(pk=record.pk).update(lease_owner="crashed", lease_until=timezone.now() - timedelta(1))
    with lease(record, wait=0):
        record.refresh_from_db()
        assert record.lease_owner not in ("", "crashed")


def test_lease_is_released_on_error(record):
    with pytest.raises(RuntimeError):
        with lease(record):
            raise RuntimeError("spawn failed")
    with lease(record, wait=0):
        pass


def test_uids_come_from_the_range_and_run_out(record):
    student = get_or_create_student("s2")
    assert student.uid == 5001 and get_or_create_student("s2").uid == 5001
    with pytest.raises(Exception, match="no uid left"):
        get_or_create_student("s3")


def held_by(record, owner: str) -> None:
    Container.objects.filter(pk=record.pk).update(lease_owner=owner, lease_until=timezone.now() + timedelta(hours=1))


def test_the_holder_names_this_process(record):
    with lease(record):
        record.refresh_from_db()
        assert record.lease_owner.split("|")[1] == str(os.getpid())
        assert not leases.holder_is_gone(record.lease_owner)


def test_a_dead_holders_lease_is_taken_over_at_once(record):
    process = subprocess.Popen(["sleep", "600"])
    owner = leases.holder(process.pid)
    held_by(record, owner)
    with pytest.raises(LeaseTimeout):  # alive: waited for
        with lease(record, wait=0.3):
            pass
    process.kill()
    process.wait()
    with lease(record, wait=0.3):
        record.refresh_from_db()
        assert record.lease_owner not in ("", owner)


def test_a_reused_pid_is_not_the_holder(record):
    # This very process, but with another start time: the pid was reused, the holder is gone.
    host, pid, start, nonce = leases.holder().rsplit("|", 3)
    held_by(record, "|".join((host, pid, str(int(start) - 1), nonce)))
    with lease(record, wait=0.3):
        pass


@pytest.mark.parametrize("owner", ["otherhost:boot:1|1|1|abc", "4f1c0a9e0d6b4c1d8e2f3a4b5c6d7e8f"])
def test_a_holder_elsewhere_or_of_an_older_version_waits_for_expiry(record, owner):
    held_by(record, owner)
    with pytest.raises(LeaseTimeout):
        with lease(record, wait=0.3):
            pass
    Container.objects.filter(pk=record.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    with lease(record, wait=0.3):
        pass


def test_a_dead_workers_start_is_queued_again_at_once(record):
    """The start queue names its workers like lease holders: a start whose worker process is gone
    gives its slot back at the next tidy, not after a stale heartbeat."""
    process = subprocess.Popen(["sleep", "600"])
    dead = Start.objects.create(container=record, page="tree", state=Start.State.STARTING, slot=0,
                                worker=leases.holder(process.pid), heartbeat=timezone.now())
    alive = Start.objects.create(container=record, page="tree", state=Start.State.STARTING, slot=1,
                                 worker=leases.holder(), heartbeat=timezone.now())
    assert queue.requeue_orphaned() == 0
    process.kill()
    process.wait()
    assert queue.requeue_orphaned() == 1
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert (dead.state, dead.slot, dead.worker) == (Start.State.QUEUED, None, "")
    assert (alive.state, alive.slot) == (Start.State.STARTING, 1)


CHILD = """
import os, sys, time
import django
django.setup()
from nbhosting.containers.lease import lease
from nbhosting.containers.models import Container
from nbhosting.courses.models import Course
from nbhosting.workspaces.models import get_or_create_student

course = Course.objects.get_or_create(name="c1", git_url="/nowhere")[0]
record = Container.objects.get_or_create(course=course, student=get_or_create_student("s1"), name="c1-x-s1")[0]
with lease(record, wait=float(sys.argv[1])):
    print(Container.objects.get(pk=record.pk).lease_owner, flush=True)
    if sys.argv[2] == "hold":
        time.sleep(600)
"""


def test_a_killed_process_holding_the_lease_is_taken_over(tmp_path: Path):
    """Real processes on a real database file: one takes the lease and is killed with SIGKILL
    while holding it (as a gunicorn worker killed mid-start); the next one gets it at once, not
    after the lease's 240 s."""
    env = {**os.environ, "NBH_DATA_ROOT": str(tmp_path), "NBH_SECRET_KEY": "test", "NBH_SPAWN_TIMEOUT": "180",
           "DJANGO_SETTINGS_MODULE": "nbhosting.settings"}
    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, str(root / "manage.py"), "migrate", "-v0"], env=env, check=True)
    child = subprocess.Popen([sys.executable, "-c", CHILD, "10", "hold"], env=env, cwd=root,
                             stdout=subprocess.PIPE, text=True)
    owner = child.stdout.readline().strip()
    assert owner
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    # A waiter that would give up long before the lease expires still gets it.
    waiter = subprocess.run([sys.executable, "-c", CHILD, "20", "release"], env=env, cwd=root,
                            capture_output=True, text=True, timeout=120)
    assert waiter.returncode == 0, waiter.stderr[-2000:]
    assert waiter.stdout.strip() not in ("", owner)
    assert "whose process is gone" in waiter.stderr
