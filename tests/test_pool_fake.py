"""Warm pools on the in-process backend, branch by branch: a new student's open claims a warm
server (its container, secret and uid become the student's, its workspace folder is renamed, no
start), a slot is never taken twice, a student who owns anything never claims, the monitor refills
(students' starts first) and culls unclaimed servers outside the schedule or beyond the size.
The workspaces are real folders, owned by the students' uids, as in production: that needs root."""
import json
import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from nbhosting.containers import lifecycle
from nbhosting.containers.backend import ServerState
from nbhosting.containers.fake import FakeBackend
from nbhosting.containers.models import Container
from nbhosting.courses.models import Course
from nbhosting.dashboard import overview
from nbhosting.monitor import cycle
from nbhosting.monitor.models import Cull
from nbhosting.pool import claim as pool_claim
from nbhosting.pool import schedule, upkeep
from nbhosting.pool.models import Policy, Slot
from nbhosting.starts import queue
from nbhosting.starts.models import Start
from nbhosting.workspaces import workspace
from nbhosting.workspaces.models import Student, get_or_create_student
from tests.fake_backend import make_course
from tests.helpers import LMS, SERVER_URL

pytestmark = [pytest.mark.django_db, pytest.mark.fake,
              pytest.mark.skipif(os.geteuid() != 0, reason="workspaces belong to the students' uids")]
State = Container.State


@pytest.fixture
def site(fake, settings):
    """A data root that students' uids can traverse (pytest's tmp folders are root's 0700)."""
    base = Path(tempfile.mkdtemp(prefix="nbh-pool-", dir="/var/tmp"))
    base.chmod(0o711)
    settings.DATA_ROOT = base / "data"
    settings.DATA_ROOT.mkdir(mode=0o711)
    settings.NBH_QUOTA_DRIVER = "none"
    settings.NBH_LEGACY_REFERERS = ["lms.example.org"]
    settings.NBH_START_CONCURRENCY = 2
    yield fake
    shutil.rmtree(base, ignore_errors=True)


def pooled_course(size: int = 2, hours: str = "", days: str = "", name: str = "physics") -> Course:
    course = make_course(name)
    course.trust = course.Trust.LEGACY
    course.save()
    Policy.objects.create(course=course, size=size, hours=hours, days=days)
    return course


def free_slots(course: Course) -> list[Slot]:
    return list(Slot.objects.filter(course=course, state=Slot.State.FREE).select_related("container__student"))


def warm(fake: FakeBackend, course: Course, size: int) -> list[Slot]:
    cycle.run(fake)
    slots = free_slots(course)
    assert len(slots) == size and all(s.container.state == State.RUNNING for s in slots)
    return slots


def test_a_new_students_first_open_claims_a_warm_server_without_a_start(site):
    course = pooled_course(size=1)
    slot = warm(site, course, 1)[0]
    record, identity = slot.container, slot.container.student
    pool_uid, pool_dir = identity.uid, course.workspaces_dir / identity.name
    assert pool_dir.is_dir() and pool_dir.stat().st_uid == pool_uid
    inode = pool_dir.stat().st_ino  # what the running container mounted
    site.calls.clear()

    response = Client().get("/notebookLazyCopy/physics/intro/ann", headers=LMS)

    assert response.status_code == 302, response.content.decode()[:300]
    found = SERVER_URL.match(response["Location"])
    assert found and found["secret"] == record.secret  # the pool server's own URL, now the student's
    assert site.called("start") == [] and site.called("create") == [] and site.called("stop") == []
    ann = Student.objects.get(name="ann")
    record.refresh_from_db()
    assert record.student_id == ann.pk and record.name == slot.container.name and ann.uid == pool_uid
    assert not Student.objects.filter(pk=identity.pk).exists()  # the pool identity is retired
    assert not os.path.lexists(pool_dir)
    folder = course.workspaces_dir / "ann"
    assert folder.stat().st_ino == inode  # the same folder, renamed: the server sees it
    notebook = folder / "intro.ipynb"
    assert notebook.stat().st_uid == pool_uid
    slot.refresh_from_db()
    assert slot.state == Slot.State.CLAIMED and slot.claimed_by == "ann"
    # The second open is an ordinary warm open of ann's own server.
    again = Client().get("/notebookLazyCopy/physics/intro/ann", headers=LMS)
    assert SERVER_URL.match(again["Location"])["secret"] == record.secret
    assert site.called("start") == []


def test_a_slot_is_never_taken_twice(site):
    course = pooled_course(size=1)
    slot = warm(site, course, 1)[0]
    ann, bob = get_or_create_student("ann"), get_or_create_student("bob")
    bob_uid = bob.uid
    taken = pool_claim.claim(course, ann)
    assert taken is not None and taken.pk == slot.container_id
    # bob arrives a moment later, as if he had read the slot as free before ann's claim.
    with pytest.raises(pool_claim._Lost):
        pool_claim._take(course, bob, slot.pk)
    assert pool_claim.claim(course, bob) is None  # and no other slot is free
    bob.refresh_from_db()
    assert bob.uid == bob_uid and not Container.objects.filter(student=bob).exists()
    assert Container.objects.get(pk=slot.container_id).student_id == ann.pk


def test_two_new_students_get_two_different_servers(site):
    course = pooled_course(size=2)
    warm(site, course, 2)
    ann, bob = get_or_create_student("ann"), get_or_create_student("bob")
    first, second = pool_claim.claim(course, ann), pool_claim.claim(course, bob)
    assert first and second and first.pk != second.pk and first.secret != second.secret
    ann.refresh_from_db()
    bob.refresh_from_db()
    assert ann.uid != bob.uid
    assert {first.student_id, second.student_id} == {ann.pk, bob.pk}


def test_a_student_who_owns_anything_never_claims(site):
    course = pooled_course(size=1)
    other = make_course("chemistry")
    warm(site, course, 1)
    # Has a server in another course: their uid already owns files there.
    ann = get_or_create_student("ann")
    lifecycle.start(lifecycle.get_record(other, ann))
    assert pool_claim.claim(course, ann) is None
    # Has a workspace in another course (staff dropped files in it), but no server.
    bob = get_or_create_student("bob")
    workspace.ensure(other, bob)
    assert pool_claim.claim(course, bob) is None
    # The platform's own identities never take one.
    staff = Student.objects.create(name="_staff-teacher", uid=7_000_900)
    assert pool_claim.claim(course, staff) is None
    assert len(free_slots(course)) == 1


def test_a_claim_is_refused_while_the_servers_lease_is_held(site):
    course = pooled_course(size=1)
    slot = warm(site, course, 1)[0]
    ann = get_or_create_student("ann")
    Container.objects.filter(pk=slot.container_id).update(lease_owner="x", lease_until=timezone.now()
                                                          + timezone.timedelta(seconds=60))
    assert pool_claim.claim(course, ann) is None  # a stop or a removal is under way
    slot.refresh_from_db()
    assert slot.state == Slot.State.FREE and slot.container.student.name.startswith("_pool-")
    assert os.path.isdir(course.workspaces_dir / slot.container.student.name)


def test_a_claimed_server_is_made_again_for_the_student_at_its_next_start(site):
    course = pooled_course(size=1)
    slot = warm(site, course, 1)[0]
    ann = get_or_create_student("ann")
    record = pool_claim.claim(course, ann)
    assert site.containers[record.name].spec.labels["nbhosting.student"].startswith("_pool-")
    assert lifecycle.stop(record, "test", wait=5) is lifecycle.Stop.STOPPED
    site.calls.clear()
    lifecycle.start(Container.objects.get(pk=record.pk))
    # Its old spec mounts the pool's workspace path, which is gone: a new container, same name.
    assert site.called("remove") == [record.name] and site.called("create") == [record.name]
    spec = site.containers[record.name].spec
    assert spec.labels["nbhosting.student"] == "ann"
    ann.refresh_from_db()
    assert spec.uid == ann.uid
    assert any(m.source == course.workspaces_dir / "ann" for m in spec.mounts)
    assert slot.container.secret == Container.objects.get(pk=record.pk).secret


def test_the_monitor_refills_only_when_no_students_start_waits(site):
    course = pooled_course(size=2)
    waiting = Start.objects.create(container=lifecycle.get_record(course, get_or_create_student("ann")), page="x")
    cycle.run(site)
    assert free_slots(course) == []  # a student waits: the pool waits for the next cycle
    queue.finish(waiting, Start.State.FAILED)
    Start.objects.filter(pk=waiting.pk).update(state=Start.State.FAILED)
    # A student's start holds one of the two slots: the last free one stays for the next student.
    Start.objects.create(container=waiting.container, page="x", state=Start.State.STARTING, slot=0)
    cycle.run(site)
    assert free_slots(course) == []
    Start.objects.filter(slot=0).update(state=Start.State.READY, slot=None)
    slots = warm(site, course, 2)
    assert all(s.container.student.name.startswith("_pool-") for s in slots)
    spares = Start.objects.filter(container__in=[s.container for s in slots])
    assert {s.state for s in spares} == {Start.State.READY} and all(s.delivered for s in spares)
    # Full: the next cycle starts nothing.
    site.calls.clear()
    cycle.run(site)
    assert site.called("start") == []


def test_a_wanted_idle_pool_server_is_kept(site, settings):
    settings.NBH_CULL_SERVER_AFTER = 60
    course = pooled_course(size=1)
    slot = warm(site, course, 1)[0]
    long_ago = timezone.now() - timezone.timedelta(hours=3)
    Container.objects.filter(pk=slot.container_id).update(started_at=long_ago, last_open=long_ago)
    cycle.run(site)
    assert site.containers[slot.container.name].state == ServerState.RUNNING


def test_unclaimed_servers_are_stopped_outside_the_schedule(site):
    course = pooled_course(size=2)
    slots = warm(site, course, 2)
    policy = course.pool_policy
    policy.hours = hours_excluding(timezone.now())
    policy.save()
    claimed = pool_claim.claim(course, get_or_create_student("ann"))
    cycle.run(site)
    for slot in slots:
        slot.refresh_from_db()
        state = site.containers[slot.container.name].state
        if slot.container_id == claimed.pk:
            assert state == ServerState.RUNNING  # ann's now: culled only when ann leaves it idle
        else:
            assert state == ServerState.STOPPED
            assert Cull.objects.filter(container=slot.container.name, reason=upkeep.OUTSIDE).exists()
            assert slot.state == Slot.State.FREE  # kept for the next session, uid and all
    started = len(site.called("start"))
    cycle.run(site)
    assert len(site.called("start")) == started  # nothing refilled outside the hours


def test_slots_beyond_the_size_are_retired(site):
    course = pooled_course(size=2)
    slots = warm(site, course, 2)
    Policy.objects.filter(course=course).update(size=1)
    cycle.run(site)
    left = free_slots(course)
    assert len(left) == 1 and left[0].pk == slots[0].pk
    gone = slots[1]
    assert not Container.objects.filter(pk=gone.container_id).exists()
    assert not Student.objects.filter(pk=gone.container.student_id).exists()
    assert gone.container.name not in site.containers
    assert not os.path.lexists(course.workspaces_dir / gone.container.student.name)
    Policy.objects.filter(course=course).update(size=0)
    cycle.run(site)
    assert free_slots(course) == [] and not site.containers


def test_a_retiring_slot_cannot_be_claimed(site):
    course = pooled_course(size=1)
    slot = warm(site, course, 1)[0]
    Slot.objects.filter(pk=slot.pk).update(state=Slot.State.RETIRING)
    assert pool_claim.claim(course, get_or_create_student("ann")) is None


def test_a_claim_never_renames_over_an_existing_folder_nor_through_a_link(site, tmp_path):
    course = pooled_course(size=1)
    slot = warm(site, course, 1)[0]
    identity = slot.container.student.name
    (course.workspaces_dir / "ann").mkdir()
    with pytest.raises(pool_claim._Lost):
        pool_claim.rename_workspace(course, identity, "ann", slot.container.student.uid)
    (course.workspaces_dir / "ann").rmdir()
    with pytest.raises(pool_claim._Lost):
        pool_claim.rename_workspace(course, identity, "../ann", slot.container.student.uid)
    real = course.workspaces_dir / identity
    real.rename(tmp_path / "moved")
    real.symlink_to(tmp_path / "moved")
    with pytest.raises(pool_claim._Lost):
        pool_claim.rename_workspace(course, identity, "ann", slot.container.student.uid)
    assert not os.path.lexists(course.workspaces_dir / "ann")


def hours_excluding(now: datetime) -> str:
    local = timezone.localtime(now)
    start = (local.hour + 2) % 24
    return f"{start:02d}:00-{(start + 1) % 24:02d}:00"


@pytest.mark.parametrize("hours,days,when,wanted", [
    ("08:00-18:00", "", "2026-12-02 10:00", True),
    ("08:00-18:00", "", "2026-12-02 18:00", False),
    ("08:00-18:00", "mon-fri", "2026-12-05 10:00", False),  # a Saturday
    ("08:00-18:00", "sat,sun", "2026-12-05 10:00", True),
    ("22:00-02:00", "wed", "2026-12-03 01:00", True),  # Wednesday night's session, on Thursday
    ("22:00-02:00", "wed", "2026-12-02 01:00", False),
    ("", "", "2026-12-02 03:00", True),
])
def test_the_schedule(hours, days, when, wanted, settings):
    settings.TIME_ZONE = "UTC"
    moment = timezone.make_aware(datetime.fromisoformat(when), timezone.get_fixed_timezone(0))
    assert schedule.within(hours, days, moment) is wanted


@pytest.mark.parametrize("hours,days", [("8-18", ""), ("08:00-08:00", ""), ("", "weekdays"), ("25:00-26:00", "")])
def test_a_bad_schedule_is_refused(hours, days):
    with pytest.raises(schedule.InvalidSchedule):
        schedule.parse_hours(hours) if hours else schedule.parse_days(days)


def test_course_update_sets_the_pool_and_refuses_bad_values(site, capsys):
    course = make_course("physics")
    call_command("course_update", "physics", "--pool", "8", "--pool-hours", "08:00-18:00", "--pool-days", "Mon-Fri")
    policy = Policy.objects.get(course=course)
    assert (policy.size, policy.hours, policy.days) == (8, "08:00-18:00", "mon-fri")
    for bad, message in ((["--pool", "-1"], "invalid pool size -1"), (["--pool-hours", "8-18"], "invalid pool hours"),
                         (["--pool-days", "weekdays"], "invalid pool days")):
        with pytest.raises(CommandError, match=message):
            call_command("course_update", "physics", *bad)
    policy.refresh_from_db()
    assert (policy.size, policy.hours, policy.days) == (8, "08:00-18:00", "mon-fri")  # nothing changed


def test_course_list_and_containers_show_warm_servers_and_claimed_ones_by_their_student(site, capsys):
    course = pooled_course(size=2)
    warm(site, course, 2)
    pool_claim.claim(course, get_or_create_student("ann"))
    capsys.readouterr()
    call_command("course_list")
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("physics"))
    assert line.split()[2:5] == ["1", "1", "1/2"]  # (no commit) one student, running; one of two warm
    call_command("containers", "--json")
    rows = json.loads(capsys.readouterr().out)
    students = sorted(r["student"] for r in rows)
    assert students[0].startswith("_pool-") and students[1] == "ann"


def test_the_dashboard_shows_a_claimed_server_as_its_students_and_counts_the_warm_ones(site):
    course = pooled_course(size=2)
    warm(site, course, 2)
    pool_claim.claim(course, get_or_create_student("ann"))
    rows = {row.name: row.state for row in overview.students(course)}
    assert rows == {"ann": "running"}  # by the row, though the container's label names the pool
    summary = overview.summaries([course])[0]
    assert (summary.students, summary.running, summary.warm, summary.pool) == (1, 2, 1, "2 (all day, every day)")


def test_deleting_a_course_removes_its_unclaimed_pool_identities_and_keeps_its_students(site, capsys):
    course = pooled_course(size=2)
    warm(site, course, 2)
    assert Client().get("/notebookLazyCopy/physics/intro/ann", headers=LMS).status_code == 302
    assert Student.objects.filter(name__startswith="_pool-").count() == 1  # ann's claim retired one

    call_command("course_delete", "physics", "--force")

    assert not Student.objects.filter(name__startswith="_pool-").exists()
    assert Student.objects.filter(name="ann").exists()  # a student keeps their identity (and uid)
    assert not site.containers and "deleted" in capsys.readouterr().out
