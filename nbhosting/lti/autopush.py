"""Scores go to the LMS soon after an autograde, without slowing down the loop that calls this
(the exchange check, every 20 s): when a course's nbgrader gradebook changed, `nbh course-grades
COURSE --push` runs in a process of its own, one at a time per course, and logs what it did."""
import logging
import subprocess
import sys
import time

from django.conf import settings

from nbhosting.courses.models import Course
from nbhosting.exchange import layout
from nbhosting.lti.grades import has_destinations

log = logging.getLogger(__name__)
RETRY_AFTER = 60.0  # seconds: a push that failed (LMS down, a busy host) is tried again, not every loop

_seen: dict[str, float] = {}  # course → the gradebook's mtime at the last push started
_running: dict[str, subprocess.Popen] = {}
_retry_at: dict[str, float] = {}  # course → when a failed push may be tried again


def after_grading(course: Course) -> bool:
    """Starts a push when the gradebook changed since the last one, or when the last one failed a
    while ago; True when it started one."""
    if not _finished(course.name) or time.monotonic() < _retry_at.get(course.name, 0):
        return False
    try:
        mtime = (layout.course_dir(course) / "gradebook.db").stat().st_mtime
    except OSError:
        return False
    if mtime <= _seen.get(course.name, 0) or not has_destinations(course):
        return False
    _seen[course.name] = mtime
    log.info("%s: its gradebook changed, its scores go to the LMS", course.name)
    _running[course.name] = subprocess.Popen(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), "course_grades", course.name, "--push", "--quiet"])
    return True


def _finished(name: str) -> bool:
    """False while the course's last push runs. Once it has failed, its gradebook counts as not
    pushed: the push is tried again after RETRY_AFTER, even if no grade changes meanwhile."""
    running = _running.get(name)
    if running is None:
        return True
    if running.poll() is None:
        return False
    del _running[name]
    if running.returncode != 0:
        log.warning("%s: the push of scores failed (exit %s); it is tried again in %ds", name,
                    running.returncode, RETRY_AFTER)
        _seen.pop(name, None)
        _retry_at[name] = time.monotonic() + RETRY_AFTER
    return True
