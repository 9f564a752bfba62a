"""The course's gradebook, reached through nbgrader itself in a one-shot container (nbgrader lives
in the course image, not on the host), as the instructors' uid, with no network."""
import json
import logging
import secrets
import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from nbhosting.containers.backend import BackendError, ContainerSpec, Mount
from nbhosting.containers.backends import get_backend as backend
from nbhosting.containers.spawn import labels_of_course
from nbhosting.courses.models import Course
from nbhosting.exchange import layout
from nbhosting.exchange.models import NbgraderCourse
from nbhosting.folders import root_folder
from nbhosting.workspaces.models import Student

log = logging.getLogger(__name__)
JOB = Path(__file__).with_name("gradebook_job.py")
COURSE_DIR = "/srv/nbgrader/course"


class GradebookError(RuntimeError):
    pass


def _run(course: Course, request: dict) -> dict:
    owner = layout.ensure(course)
    request = {"db": f"sqlite:///{COURSE_DIR}/gradebook.db", "course": course.name, **request}
    jobs = settings.DATA_ROOT / "run" / "jobs"
    root_folder(jobs, 0o711)
    folder = Path(tempfile.mkdtemp(dir=jobs))
    try:
        folder.chmod(0o755)
        (folder / "request.json").write_text(json.dumps(request))
        spec = ContainerSpec(
            name=f"{course.name}-job-{secrets.token_hex(4)}",
            image=course.image_name,
            command=["python3", "-c", JOB.read_text()],
            uid=owner.uid, gid=owner.gid,
            mounts=[Mount(layout.course_dir(course), COURSE_DIR), Mount(folder, "/run/nbh-job", read_only=True)],
            environment={"HOME": COURSE_DIR},
            labels={**labels_of_course(course.name), "nbhosting.job": "gradebook"},
            memory=settings.NBH_MEMORY, cpus=settings.NBH_CPUS, pids=settings.NBH_PIDS,
        )
        output = backend().run(spec)
    except BackendError as exc:
        raise GradebookError(f"the gradebook of {course.name} could not be reached: {exc}") from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    lines = [line for line in output.splitlines() if line.startswith("{")]
    if not lines:
        raise GradebookError(f"the gradebook job of {course.name} gave no answer: {output[-300:]}")
    return json.loads(lines[-1])


def add_students(course: Course, students: list[dict], overwrite: bool = False) -> dict:
    """Adds the students (id, and first_name, last_name, email where known) to the gradebook;
    with overwrite, also replaces the names and emails of students already there."""
    return _run(course, {"action": "add_students", "students": students, "overwrite": overwrite})


def grades(course: Course) -> list[dict]:
    return _run(course, {"action": "grades"})["rows"]


def sync_roster(nbgrader: NbgraderCourse) -> int:
    """Every student who opened the course is in its gradebook. Only those who came since the last
    sync cost a gradebook job. Returns how many were added."""
    course = nbgrader.course
    newest = course.containers.aggregate(newest=Max("created"))["newest"]
    if newest is None or (nbgrader.roster_synced_at and newest <= nbgrader.roster_synced_at):
        return 0
    since = nbgrader.roster_synced_at
    students = Student.objects.filter(containers__course=course)
    if since:
        students = students.filter(containers__created__gt=since)
    ids = [s.name for s in students if not layout.is_instructors_identity(s)]
    added = add_students(course, [{"id": name} for name in ids])["added"] if ids else 0
    NbgraderCourse.objects.filter(pk=nbgrader.pk).update(roster_synced_at=newest or timezone.now())
    return added
