"""Scores go to the LMS soon after an autograde, without slowing down the loop that calls this
(the exchange check, every 20 s): when a course's nbgrader gradebook changed, `nbh course-grades
COURSE --push` runs in a process of its own, one at a time per course, and logs what it did."""
import subprocess
import sys

from django.conf import settings

from nbhosting.courses.models import Course
from nbhosting.exchange import layout
from nbhosting.lti.grades import has_destinations

_seen: dict[str, float] = {}  # course → the gradebook's mtime at the last push started
_running: dict[str, subprocess.Popen] = {}


def after_grading(course: Course) -> bool:
    """Starts a push when the gradebook changed since the last one; True when it started one."""
    running = _running.get(course.name)
    if running is not None and running.poll() is None:
        return False
    try:
        mtime = (layout.course_dir(course) / "gradebook.db").stat().st_mtime
    except OSError:
        return False
    if mtime <= _seen.get(course.name, 0) or not has_destinations(course):
        return False
    _seen[course.name] = mtime
    _running[course.name] = subprocess.Popen(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), "course_grades", course.name, "--push", "--quiet"])
    return True
