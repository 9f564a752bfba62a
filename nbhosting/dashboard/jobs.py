"""Starting and running the dashboard's long actions. The web request only starts a detached
`nbh run-job` process; that process does the work and writes the job's log file."""
import os
import subprocess
import sys
import traceback
from datetime import timedelta
from typing import IO

import git
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from nbhosting.courses import images, repo
from nbhosting.courses.models import Course
from nbhosting.dashboard.models import Job
from nbhosting.exchange import sources

MAX_LOG_CHUNK = 256 * 1024
QUEUED_TOO_LONG = timedelta(minutes=2)


class JobBusy(RuntimeError):
    """The course already has a job queued or running."""


def create(course: Course, kind: str, requested_by: str) -> Job:
    with transaction.atomic():
        # Serialises concurrent requests on the course row (SQLite's IMMEDIATE transactions do too).
        Course.objects.select_for_update().filter(pk=course.pk).first()
        current = Job.objects.filter(course=course, state__in=[Job.State.QUEUED, Job.State.RUNNING]).first()
        if current is not None and current.active and not _interrupted(current):
            raise JobBusy(f"{course.name} already has a {current.kind} job running (#{current.pk})")
        return Job.objects.create(course=course, kind=kind, requested_by=requested_by)


def start_detached(job: Job) -> None:
    """Runs the job in its own session, re-parented away from the web worker (setsid -f forks)."""
    command = ["setsid", "-f", sys.executable, str(settings.BASE_DIR / "manage.py"), "run_job", str(job.pk)]
    try:
        subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True, timeout=30, env=os.environ.copy())
    except (OSError, subprocess.SubprocessError) as exc:
        _finish(job, Job.State.FAILED, f"could not start the job: {exc}")
        raise


def run(job: Job) -> Job:
    """Runs the job in this process; its output goes to the job's log file."""
    job.log_path.parent.mkdir(parents=True, exist_ok=True)
    Job.objects.filter(pk=job.pk).update(state=Job.State.RUNNING, started=timezone.now(), pid=os.getpid())
    with open(job.log_path, "a", encoding="utf-8", buffering=1) as log:
        try:
            summary = _steps(job, log)
        except (repo.RepoError, images.BuildError) as exc:
            log.write(f"\nFAILED: {exc}\n")
            return _finish(job, Job.State.FAILED, str(exc))
        except Exception as exc:  # noqa: BLE001 - whatever happens, the job must end as failed, with the cause
            log.write("\n" + traceback.format_exc())
            return _finish(job, Job.State.FAILED, f"internal error: {exc}")
        log.write(f"\nDONE: {summary}\n")
        return _finish(job, Job.State.DONE, summary)


def _steps(job: Job, log: IO[str]) -> str:
    course = Course.objects.get(pk=job.course_id)
    if job.kind == Job.Kind.PULL:
        return pull_and_maybe_build(course, log)
    log.write(f"building {course.built_image_tag}\n")
    image_id = images.build(course, log, no_cache=job.kind == Job.Kind.REBUILD)
    return f"image {course.built_image_tag} built ({image_id[:12]})"


def pull_and_maybe_build(course: Course, log: IO[str]) -> str:
    """Pulls; rebuilds the image when autobuild is set and the Containerfile changed (or the
    course has one but no image was ever built from it)."""
    before_commit, before_file = course.commit, images.containerfile_digest(course)
    log.write(f"pulling {course.git_url} {course.branch or '(default branch)'}\n")
    commit = sources.pull(course)
    log.write(_changes(course, before_commit, commit))
    summary = f"at {commit[:12]}" + (" (unchanged)" if commit == before_commit else f" (was {before_commit[:12]})")
    after_file = images.containerfile_digest(course)
    if course.autobuild and after_file and (after_file != before_file or not course.image_built_at):
        log.write("\nthe Containerfile changed: building the course image\n")
        image_id = images.build(course, log)
        summary += f"; image rebuilt ({image_id[:12]})"
    return summary


def _changes(course: Course, before: str, after: str) -> str:
    if not before or before == after:
        return f"now at {after[:12]}\n"
    try:
        stat = git.Repo(course.repo_dir).git.diff("--stat", before, after)
    except git.GitCommandError:
        stat = ""
    return f"{before[:12]} -> {after[:12]}\n{stat}\n"


def _finish(job: Job, state: str, summary: str) -> Job:
    Job.objects.filter(pk=job.pk).update(state=state, finished=timezone.now(), summary=summary[:300])
    job.refresh_from_db()
    return job


def _interrupted(job: Job) -> bool:
    """A job whose process is gone (host reboot, killed) or never started: marked failed, so that
    it never blocks the course's next action."""
    if job.state == Job.State.QUEUED and timezone.now() - job.created > QUEUED_TOO_LONG:
        _finish(job, Job.State.FAILED, "the job's process never started")
        return True
    if job.state != Job.State.RUNNING or not job.pid:
        return False
    try:
        os.kill(job.pid, 0)
        return False
    except ProcessLookupError:
        _finish(job, Job.State.FAILED, "the job's process ended before the job finished")
        return True
    except PermissionError:
        return False


def progress(job: Job, offset: int) -> dict:
    """The job's state and the log text from `offset` on, for the page that polls it."""
    _interrupted(job)
    text = ""
    if job.log_path.exists():
        with open(job.log_path, "rb") as log:
            log.seek(max(0, offset))
            chunk = log.read(MAX_LOG_CHUNK)
        text, offset = chunk.decode(errors="replace"), max(0, offset) + len(chunk)
    return {
        "id": job.pk, "kind": job.kind, "state": job.state, "summary": job.summary,
        "active": job.active, "log": text, "offset": offset,
        "finished": job.finished.isoformat() if job.finished else None,
    }
