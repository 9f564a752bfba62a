"""Jobs: one at a time per course, a dead job never blocks the next, and the log is read by offset."""
import os
import subprocess
from datetime import timedelta

import pytest
from django.utils import timezone

from nbhosting.dashboard import jobs
from nbhosting.dashboard.models import Job


@pytest.mark.django_db
def test_one_job_at_a_time_per_course(courses):
    physics, history = courses
    Job.objects.all().delete()
    first = jobs.create(physics, Job.Kind.PULL, "alice")
    with pytest.raises(jobs.JobBusy):
        jobs.create(physics, Job.Kind.BUILD, "alice")
    assert jobs.create(history, Job.Kind.PULL, "bob").pk != first.pk  # other courses are not blocked


@pytest.mark.django_db
def test_dead_or_never_started_jobs_do_not_block(courses):
    physics, _ = courses
    Job.objects.all().delete()
    dead = subprocess.Popen(["true"])
    dead.wait()
    crashed = Job.objects.create(course=physics, kind=Job.Kind.PULL, state=Job.State.RUNNING, pid=dead.pid)
    assert jobs.create(physics, Job.Kind.PULL, "alice").state == Job.State.QUEUED
    crashed.refresh_from_db()
    assert crashed.state == Job.State.FAILED and "ended" in crashed.summary
    Job.objects.filter(course=physics).delete()
    stuck = Job.objects.create(course=physics, kind=Job.Kind.PULL)
    Job.objects.filter(pk=stuck.pk).update(created=timezone.now() - timedelta(minutes=5))
    jobs.create(physics, Job.Kind.PULL, "alice")
    stuck.refresh_from_db()
    assert stuck.state == Job.State.FAILED


@pytest.mark.django_db
def test_progress_reads_the_log_by_offset(courses):
    physics, _ = courses
    job = Job.objects.create(course=physics, kind=Job.Kind.PULL, state=Job.State.RUNNING, pid=os.getpid())
    job.log_path.parent.mkdir(parents=True, exist_ok=True)
    job.log_path.write_text("one\n")
    first = jobs.progress(job, 0)
    assert (first["log"], first["active"]) == ("one\n", True)
    with open(job.log_path, "a") as log:
        log.write("two\n")
    second = jobs.progress(job, first["offset"])
    assert second["log"] == "two\n" and second["offset"] == 8


@pytest.mark.django_db
def test_build_without_containerfile_fails_clearly(courses):
    physics, _ = courses
    job = jobs.run(Job.objects.create(course=physics, kind=Job.Kind.BUILD))
    assert job.state == Job.State.FAILED and "has no Containerfile" in job.summary
    assert "FAILED" in job.log_path.read_text()


@pytest.mark.django_db
@pytest.mark.parametrize("offset", ["²", "١٢", "-1", "1e3", "9" * 40, str(2**63), " 1"])
def test_progress_refuses_a_bad_offset_with_400(courses, alice, offset):
    from tests.test_dashboard_course import client_for

    physics, _ = courses
    job = Job.objects.filter(course=physics).first()
    job.log_path.parent.mkdir(parents=True, exist_ok=True)
    job.log_path.write_text("one\n")
    url = f"/staff/course/physics/jobs/{job.pk}.json"
    response = client_for(alice).get(url, {"offset": offset})
    assert response.status_code == 400, offset
    assert "offset" in response.json()["error"]
    assert client_for(alice).get(url, {"offset": "2"}).json()["log"] == "e\n"
    assert client_for(alice).get(url).json()["log"] == "one\n"
