"""Prewarm (nbh course-prewarm) on the in-process backend: exactly the named students' servers
start, through the start queue and after students who wait on a page; bad input starts nothing;
a plan runs from the monitor's cycle when due; a prewarm is no open, and a prewarmed server nobody
opens is culled like any idle one."""
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from nbhosting.accounts.models import Enrollment
from nbhosting.containers.backend import Activity, ServerState
from nbhosting.containers.models import Container
from nbhosting.monitor import cycle
from nbhosting.starts import prewarm, queue, worker
from nbhosting.starts.models import Prewarm, Start
from nbhosting.stats.models import OpenEvent
from tests.fake_backend import make_course, pair

pytestmark = [pytest.mark.django_db, pytest.mark.fake, pytest.mark.usefixtures("no_workspaces")]
HOUR = timedelta(hours=1)


def run_queued() -> list[Start]:
    """What the gunicorn workers' dispatchers do, here in this thread (the test database is
    SQLite in memory, which their threads cannot share), in the order they claim."""
    ran = []
    while (start := queue.claim("test-inline")) is not None:
        worker.run(start)
        ran.append(start)
    return ran


@pytest.fixture
def inline(monkeypatch):
    monkeypatch.setattr(prewarm, "pause", run_queued)


@pytest.fixture
def course(fake):
    found = make_course("physics")
    for name, group in [("ann", "A"), ("bob", "A"), ("cid", "B")]:
        _, student, _ = pair(found, name)
        Enrollment.objects.create(course=found, student=student, group=group)
    pair(found, "dan")  # has a server record in the course, in no group
    return found


def running(fake) -> set[str]:
    return {name.split("-x-")[1] for name, c in fake.containers.items() if c.state == ServerState.RUNNING}


def test_a_group_starts_exactly_its_students_and_counts_no_open(fake, course, inline, capsys):
    call_command("course_prewarm", "physics", "--group", "A")
    assert running(fake) == {"ann", "bob"}
    out = capsys.readouterr().out
    assert "ann: started" in out and "bob: started" in out and "physics: 2 started, 0 running already, 0 failed" in out
    assert not OpenEvent.objects.exists()  # the statistics count students' opens only
    assert list(Container.objects.filter(student__name__in=["ann", "bob"]).values_list("last_open", flat=True)) \
        == [None, None]
    assert Prewarm.objects.get().state == Prewarm.State.DONE


def test_a_file_of_ids_starts_those_students_and_says_who_ran_already(fake, course, inline, tmp_path, capsys):
    call_command("course_prewarm", "physics", "--group", "B")
    ids = tmp_path / "ids.txt"
    ids.write_text("# Tuesday's lab\ndan\n\ncid  # again\n")
    call_command("course_prewarm", "physics", "--students", str(ids))
    assert running(fake) == {"cid", "dan"}
    out = capsys.readouterr().out
    assert "dan: started" in out and "cid: running already" in out


@pytest.mark.parametrize("content, error", [
    ("ann\nzed\nyan\n", "2 id(s) unknown to physics: zed, yan"),
    ("ann\n../etc\n", "line 2"),
    ("# nobody\n", "names no student"),
    (b"\xff\xfe", "cannot read"),
])
def test_a_bad_file_is_one_error_and_starts_nothing(fake, course, tmp_path, content, error):
    ids = tmp_path / "ids.txt"
    ids.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(CommandError, match=re.escape(error)):
        call_command("course_prewarm", "physics", "--students", str(ids))
    assert not Start.objects.exists() and not Prewarm.objects.exists() and not fake.containers


def test_unknown_group_missing_file_or_no_students_named_start_nothing(fake, course, tmp_path):
    pair(make_course("chemistry"), "eve")
    ids = tmp_path / "ids.txt"
    ids.write_text("eve\n")  # a student, but of another course
    for args, error in [(["--group", "C"], "no student of physics is in group 'C'"),
                        (["--students", str(tmp_path / "none.txt")], "cannot read"),
                        (["--students", str(ids)], "unknown to physics: eve"),
                        ([], "name the students"),
                        (["--group", "A", "--at", "yesterday"], "not HH:MM"),
                        (["--group", "A", "--at", "2020-01-01T08:00"], "in the past")]:
        with pytest.raises(CommandError, match=re.escape(error)):
            call_command("course_prewarm", "physics", *args)
    with pytest.raises(CommandError, match="no course named nowhere"):
        call_command("course_prewarm", "nowhere", "--group", "A")
    assert not Start.objects.exists() and not Prewarm.objects.exists() and not fake.containers


def test_a_student_waiting_on_a_page_goes_before_the_prewarm(fake, course):
    plan = prewarm.plan(course, prewarm.group_students(course, "A"))
    starts = prewarm.launch(plan)
    _, _, record = pair(course, "cid")
    waiting = queue.enqueue(record, "notebooks/intro.ipynb")
    assert queue.position(waiting) == 1
    assert [queue.position(s) for s in starts] == [2, 3]
    assert queue.claim("test").pk == waiting.pk


def test_prewarm_starts_are_neither_dropped_nor_stopped_for_lack_of_a_page(fake, course, settings):
    settings.NBH_START_ABANDON = 0
    plan = prewarm.plan(course, prewarm.group_students(course, "A"))
    prewarm.launch(plan)
    Start.objects.update(polled=timezone.now() - HOUR)
    assert queue.drop_unpolled() == 0
    run_queued()
    Start.objects.update(finished=timezone.now() - HOUR)
    worker.stop_unclaimed()
    assert running(fake) == {"ann", "bob"}


def test_a_plan_runs_from_the_monitor_when_due(fake, course, inline, capsys):
    call_command("course_prewarm", "physics", "--group", "A", "--at", "23:59")
    plan = Prewarm.objects.get()
    assert plan.state == Prewarm.State.PENDING and plan.at > timezone.now()
    cycle.run(fake)
    assert not Start.objects.exists()  # not due yet
    Prewarm.objects.filter(pk=plan.pk).update(at=timezone.now() - timedelta(minutes=1))
    cycle.run(fake)
    assert Start.objects.filter(prewarm=plan, state=Start.State.QUEUED).count() == 2
    run_queued()
    cycle.run(fake)
    plan.refresh_from_db()
    assert plan.state == Prewarm.State.DONE and plan.report.startswith("2 started")
    assert running(fake) == {"ann", "bob"}
    call_command("course_prewarm", "--list")
    assert "physics" in capsys.readouterr().out.splitlines()[-1]


def test_a_plan_more_than_a_day_late_is_not_run(fake, course):
    plan = prewarm.plan(course, prewarm.group_students(course, "A"), timezone.now() - 2 * 24 * HOUR)
    cycle.run(fake)
    plan.refresh_from_db()
    assert plan.state == Prewarm.State.CANCELLED and not Start.objects.exists()


def test_cancel_drops_a_plan_and_its_queued_starts(fake, course, capsys):
    call_command("course_prewarm", "physics", "--group", "A", "--at", "23:59")
    pending = Prewarm.objects.get()
    call_command("course_prewarm", "--cancel", str(pending.pk))
    Prewarm.objects.filter(pk=pending.pk).update(at=timezone.now() - timedelta(minutes=1))
    cycle.run(fake)
    assert not Start.objects.exists()
    under_way = prewarm.plan(course, prewarm.group_students(course, "A"))
    prewarm.launch(under_way)
    call_command("course_prewarm", "--cancel", str(under_way.pk))
    assert set(Start.objects.values_list("state", flat=True)) == {Start.State.ABANDONED}
    assert run_queued() == [] and not fake.containers
    with pytest.raises(CommandError, match="is cancelled: nothing to cancel"):
        call_command("course_prewarm", "--cancel", str(under_way.pk))
    with pytest.raises(CommandError, match="no prewarm plan 999"):
        call_command("course_prewarm", "--cancel", "999")


def test_parse_at_takes_the_next_such_time():
    now = timezone.make_aware(datetime(2026, 12, 2, 18, 30))
    today = prewarm.parse_at("19:05", now)
    assert (today.day, today.hour, today.minute) == (2, 19, 5)
    tomorrow = prewarm.parse_at("8:50", now)
    assert (tomorrow.day, tomorrow.hour, tomorrow.minute) == (3, 8, 50)
    assert prewarm.parse_at("2026-12-03T08:50:00+00:00", now) == datetime(2026, 12, 3, 8, 50, tzinfo=UTC)
    for bad in ("24:00", "8h50", "2026-12-01T08:00"):
        with pytest.raises(prewarm.PrewarmError):
            prewarm.parse_at(bad, now)


def test_a_prewarmed_server_nobody_opens_is_culled_and_an_opened_one_kept(fake, course, inline, settings):
    settings.NBH_CULL_SERVER_AFTER = 3600
    call_command("course_prewarm", "physics", "--group", "A")
    ann, bob = (Container.objects.get(student__name=n) for n in ("ann", "bob"))
    two_hours_ago = timezone.now() - 2 * HOUR
    Container.objects.filter(pk__in=[ann.pk, bob.pk]).update(started_at=two_hours_ago)
    for record in (ann, bob):
        fake.set_activity(record.name, Activity(answered=True, last_activity=two_hours_ago))
    start = queue.enqueue(bob, "notebooks/intro.ipynb")  # bob came back to class: his open
    queue.deliver(start)
    done = cycle.run(fake)
    assert done.culled == 1 and running(fake) == {"bob"}
