"""What the dashboard shows of a course: its summary line, its notebooks, its students."""
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import jupytext
from django.db.models import Count, Max, Q
from django.utils import timezone

from nbhosting.containers.backend import BackendError, ContainerInfo
from nbhosting.containers.backends import get_backend as backend
from nbhosting.containers.models import Container
from nbhosting.containers.spawn import labels_of_course, labels_of_instance
from nbhosting.courses.images import containerfile
from nbhosting.courses.models import Course
from nbhosting.names import NOTEBOOK_SUFFIXES
from nbhosting.pool import settings as pools
from nbhosting.pool.models import Slot
from nbhosting.pool.upkeep import warm_counts
from nbhosting.sizes import format_size
from nbhosting.stats.models import OpenEvent
from nbhosting.workspaces import quota

log = logging.getLogger(__name__)
STUDENTS_SHOWN = 500


@dataclass
class Summary:
    course: Course
    students: int
    active_24h: int
    running: int
    outdated: int  # running containers on another image than the course's current one
    image_id: str | None
    has_containerfile: bool
    warm: int = 0  # unclaimed pool servers that run, waiting for new students
    pool: str = "off"  # the pool's policy, e.g. "8 (08:00-18:00, mon-fri)"


def summaries(courses: list[Course]) -> list[Summary]:
    """One podman listing for all courses, plus two grouped queries."""
    since = timezone.now() - timedelta(hours=24)
    counts = {
        row["course"]: row for row in Container.objects.filter(course__in=courses)
        .exclude(pool_slot__state__in=UNCLAIMED).values("course").annotate(
            students=Count("id"), active=Count("id", filter=Q(last_open__gte=since)))
    }
    try:
        running = [info for info in backend().list(labels_of_instance()) if info.running]
    except BackendError as exc:
        log.warning("podman does not answer: %s", exc)
        running = []
    result = []
    warm = warm_counts()
    for course in courses:
        mine = [info for info in running if info.labels.get("nbhosting.course") == course.name]
        image_id = _image_id(course)
        row = counts.get(course.pk, {})
        result.append(Summary(
            course=course, students=row.get("students", 0), active_24h=row.get("active", 0),
            running=len(mine), outdated=sum(1 for info in mine if image_id and info.image_id != image_id),
            image_id=image_id, has_containerfile=containerfile(course) is not None,
            warm=warm.get(course.pk, 0), pool=pools.describe(course),
        ))
    return result


def _image_id(course: Course) -> str | None:
    try:
        return backend().image_id(course.image_name)
    except BackendError:
        return None


# -- notebooks ----------------------------------------------------------------------------------
@dataclass
class Node:
    name: str
    path: str
    title: str = ""
    version: str = ""
    children: list["Node"] = field(default_factory=list)

    @property
    def is_folder(self) -> bool:
        return self.name.endswith("/")


def notebook_tree(course: Course) -> list[Node]:
    """The course's notebooks as a tree of folders; hidden files and folders are left out."""
    root = course.repo_dir
    return _walk(root, root) if root.is_dir() else []


def _walk(folder: Path, root: Path) -> list[Node]:
    nodes = []
    for entry in sorted(folder.iterdir(), key=lambda p: (p.is_file(), p.name)):
        if entry.name.startswith(".") or entry.is_symlink():
            continue
        relative = str(entry.relative_to(root))
        if entry.is_dir():
            children = _walk(entry, root)
            if children:
                nodes.append(Node(entry.name + "/", relative, children=children))
        elif entry.suffix in NOTEBOOK_SUFFIXES and _is_notebook(entry):
            title, version = notebook_metadata(entry)
            nodes.append(Node(entry.name, relative, title, version))
    return nodes


def _is_notebook(path: Path) -> bool:
    # A .py or .md file is a notebook when jupytext can read it as one; an .ipynb always is.
    return path.suffix == ".ipynb" or path.suffix in (".md", ".py") and path.stat().st_size < 5_000_000


def notebook_metadata(path: Path) -> tuple[str, str]:
    """(title, version) from the notebook's metadata (notebookname, version), when present."""
    try:
        if path.suffix == ".ipynb":
            metadata = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
        else:
            metadata = jupytext.read(path).metadata
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        log.info("cannot read %s: %s", path, exc)
        return "", ""
    return str(metadata.get("notebookname", "")), str(metadata.get("version", ""))


# -- students -----------------------------------------------------------------------------------
FULL_WARNING = 0.9
UNCLAIMED = (Slot.State.FREE, Slot.State.RETIRING)


@dataclass
class StudentRow:
    name: str
    last_seen: datetime | None
    notebooks: int
    state: str
    usage: quota.Usage | None = None  # None: no workspace, or one without a quota

    @property
    def disk(self) -> str:
        if self.usage is None:
            return "—"
        if self.usage.limit is None:
            return format_size(self.usage.used)
        return f"{format_size(self.usage.used)} of {format_size(self.usage.limit)}"

    @property
    def disk_nearly_full(self) -> bool:
        return self.usage is not None and self.usage.full >= FULL_WARNING


def students(course: Course) -> list[StudentRow]:
    """The most recently seen students, with their container's state as podman reports it."""
    activity = (
        OpenEvent.objects.filter(course=course.name).values("student")
        .annotate(last=Max("time"), notebooks=Count("notebook", distinct=True)).order_by("-last")[:STUDENTS_SHOWN]
    )
    everyone = Container.objects.filter(course=course).select_related("student")
    live = _live_states(course, {c.name: c.student.name for c in everyone})
    # Unclaimed pool servers are nobody's yet (the course page counts them as warm).
    records = {c.student.name: c for c in everyone.exclude(pool_slot__state__in=UNCLAIMED)}
    rows = {}
    for row in activity:
        record = records.get(row["student"])
        rows[row["student"]] = StudentRow(row["student"], row["last"], row["notebooks"],
                                          _state(row["student"], record, live))
    for name, record in records.items():
        if name not in rows and len(rows) < STUDENTS_SHOWN:
            rows[name] = StudentRow(name, record.last_open, 0, _state(name, record, live))
    usage = _usage(course)
    for row in rows.values():
        row.usage = usage.get(row.name)
    return sorted(rows.values(), key=lambda r: r.last_seen or timezone.now() - timedelta(days=36500), reverse=True)


def _live_states(course: Course, students: dict[str, str]) -> dict[str, ContainerInfo] | None:
    """Each container's state by its student: the row's (a claimed pool server's label still names
    the pool), the label's for a container no row knows."""
    try:
        infos = backend().list(labels_of_course(course.name))
        return {students.get(info.name, info.labels.get("nbhosting.student", "")): info for info in infos}
    except BackendError:
        return None


def _usage(course: Course) -> dict[str, quota.Usage]:
    try:
        return quota.usage(course)
    except (quota.QuotaError, OSError) as exc:
        log.warning("the disk usage of %s cannot be read: %s", course.name, exc)
        return {}


def _state(student: str, record: Container | None, live: dict[str, ContainerInfo] | None) -> str:
    if live is None:  # podman did not answer: the platform's record, marked as such
        return f"{record.state} (recorded)" if record else "absent"
    info = live.get(student)
    return (info.said) if info else "absent"
