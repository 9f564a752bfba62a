"""Staff pages of a course's classroom, in the dashboard (/staff/course/<course>/...): its students
by group with their progress per notebook, paged by the server; and the droparea, which puts files
into every student's workspace, as each student's uid, never over a file the student changed."""
import base64
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from nbhosting.accounts.models import Account, Enrollment
from nbhosting.classroom import progress, tracks
from nbhosting.classroom.models import DropFile
from nbhosting.containers.models import Container
from nbhosting.courses.models import Course
from nbhosting.dashboard.access import course_view
from nbhosting.folders import root_folder
from nbhosting.names import InvalidName, validate_notebook_path
from nbhosting.stats.models import OpenEvent
from nbhosting.workspaces import workspace
from nbhosting.workspaces.models import Student

log = logging.getLogger(__name__)
PER_PAGE = 50
SORTS = {"name": "name", "group": "group_name", "last": "last_seen", "opened": "opened_count"}
DROP_LIMIT = 20_000_000  # bytes per drop
DROP_WORKERS = 4  # students handled at once: each is one short process
STAGE_RE = re.compile(r"[0-9a-f]{32}")


# -- students and progress ----------------------------------------------------------------------
def course_students(course: Course) -> QuerySet:
    """Everyone enrolled in the course or who opened it, with what the table sorts and filters on."""
    enrollment = Enrollment.objects.filter(course=course, student=OuterRef("pk"))
    events = OpenEvent.objects.filter(course=course.name, student=OuterRef("name")).order_by()
    return Student.objects.filter(
        Q(pk__in=Enrollment.objects.filter(course=course).values("student"))
        | Q(pk__in=Container.objects.filter(course=course).values("student"))
    ).annotate(
        group_name=Subquery(enrollment.values("group")[:1]),
        full_name=Subquery(Account.objects.filter(student=OuterRef("pk")).values("user__first_name")[:1]),
        last_seen=Subquery(events.order_by("-time").values("time")[:1]),
        opened_count=Subquery(events.values("student").annotate(n=Count("notebook", distinct=True)).values("n")),
    )


def _ordering(sort: str) -> tuple[str, list]:
    key = sort.lstrip("-")
    if key not in SORTS:
        sort, key = "name", "name"
    field = F(SORTS[key])
    primary = field.desc(nulls_last=True) if sort.startswith("-") else field.asc(nulls_last=True)
    return sort, [primary, "name"]


def groups_of(course: Course) -> list[dict]:
    return list(Enrollment.objects.filter(course=course).values("group").annotate(students=Count("id"))
                .order_by("group"))


@course_view
def students(request: HttpRequest, course: Course) -> HttpResponse:
    query, group = request.GET.get("q", "").strip()[:100], request.GET.get("group")
    sort, ordering = _ordering(request.GET.get("sort", "name"))
    rows = course_students(course)
    if query:
        rows = rows.filter(Q(name__icontains=query) | Q(full_name__icontains=query))
    if group is not None:
        rows = rows.filter(group_name=group) if group else rows.filter(Q(group_name="") | Q(group_name__isnull=True))
    page = Paginator(rows.order_by(*ordering), PER_PAGE).get_page(request.GET.get("page"))
    outline = tracks.outline(course)
    opened = progress.opened_by(course, [s.name for s in page])
    versions = progress.versions_of(course, page)
    for student in page:
        states = progress.progress(course, student, outline, opened.get(student.name, set()),
                                   versions.get(student.pk, {}))
        student.cells = [states[entry.path] for entry in outline.entries]
        student.modified_count = sum(1 for state in student.cells if state.modified)
    return render(request, "classroom/staff_students.html", {
        "course": course, "page": page, "outline": outline, "groups": groups_of(course), "query": query,
        "group": group, "sort": sort, "notebooks": len(outline.entries),
    })


# -- droparea -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Item:
    path: str
    content: bytes

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


class DropError(ValueError):
    pass


def items_from(request: HttpRequest) -> list[Item]:
    folder = request.POST.get("folder", "").strip().strip("/")
    uploads = request.FILES.getlist("files")
    if not uploads:
        raise DropError("Choose at least one file.")
    if sum(upload.size for upload in uploads) > DROP_LIMIT:
        raise DropError(f"At most {DROP_LIMIT // 1_000_000} MB at a time.")
    items = []
    for upload in uploads:
        path = f"{folder}/{upload.name}" if folder else upload.name
        try:
            validate_notebook_path(path)
        except InvalidName as exc:
            raise DropError(str(exc).replace("notebook path", "path")) from None
        items.append(Item(path, upload.read()))
    return items


def _stage_dir(course: Course) -> Path:
    return settings.DATA_ROOT / "droparea" / course.name


def stage(course: Course, items: list[Item]) -> str:
    """Keeps a dry run's files (root's, private) so that "drop them" needs no second upload."""
    token = secrets.token_hex(16)
    folder = root_folder(_stage_dir(course), 0o700) / token
    folder.mkdir(mode=0o700)
    for n, item in enumerate(items):
        (folder / str(n)).write_bytes(item.content)
    (folder / "manifest.json").write_text(json.dumps([item.path for item in items]))
    return token


def staged(course: Course, token: str) -> list[Item]:
    folder = _stage_dir(course) / token
    if not STAGE_RE.fullmatch(token) or not folder.is_dir():
        raise DropError("These files are not there any more; choose them again.")
    paths = json.loads((folder / "manifest.json").read_text())
    return [Item(path, (folder / str(n)).read_bytes()) for n, path in enumerate(paths)]


def unstage(course: Course, token: str) -> None:
    if STAGE_RE.fullmatch(token):
        shutil.rmtree(_stage_dir(course) / token, ignore_errors=True)


def targets(course: Course) -> list[Student]:
    """Every student with a workspace in the course, and every enrolled one (theirs is made)."""
    folders = [entry.name for entry in os.scandir(course.workspaces_dir)] if course.workspaces_dir.is_dir() else []
    return list(Student.objects.filter(
        Q(pk__in=Enrollment.objects.filter(course=course).values("student"))
        | Q(pk__in=Container.objects.filter(course=course).values("student")) | Q(name__in=folders)).order_by("name"))


def drop(course: Course, items: list[Item], dry_run: bool, by: str) -> list[tuple[str, list[dict]]]:
    """What happened (or would happen) in each workspace; the platform's drops are recorded, so
    that a later drop may update a file that the student left as it was."""
    previous: dict[str, set[str]] = {}
    for path, digest in DropFile.objects.filter(course=course, path__in=[i.path for i in items]).values_list(
            "path", "digest"):
        previous.setdefault(path, set()).add(digest)
    files = [{"path": i.path, "content": base64.b64encode(i.content).decode(), "digest": i.digest,
              "previous": sorted(previous.get(i.path, ()))} for i in items]

    def one(student: Student) -> tuple[str, list[dict]]:
        try:
            return student.name, workspace.drop_files(course, student, files, dry_run)
        except workspace.WorkspaceError as exc:
            log.error("drop into %s/%s failed: %s", course.name, student.name, exc)
            return student.name, [{"path": f["path"], "action": "failed", "detail": exc.detail} for f in files]

    with ThreadPoolExecutor(DROP_WORKERS) as pool:
        results = list(pool.map(one, targets(course)))
    if not dry_run:
        DropFile.objects.bulk_create(DropFile(course=course, path=i.path, digest=i.digest, size=len(i.content), by=by)
                                     for i in items if i.digest not in previous.get(i.path, set()))
        log.info("%s dropped %s into %d workspaces of %s", by, [i.path for i in items], len(results), course.name)
    return results


def _summary(results: list[tuple[str, list[dict]]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _, rows in results:
        for row in rows:
            counts[row["action"]] = counts.get(row["action"], 0) + 1
    return counts


@course_view
def droparea(request: HttpRequest, course: Course) -> HttpResponse:
    return render(request, "classroom/staff_droparea.html", {"course": course, "students": len(targets(course))})


@course_view
@require_POST
def droparea_run(request: HttpRequest, course: Course) -> HttpResponse:
    """A dry run (the default) says what would change in each workspace and keeps the files for
    "drop them"; a drop does it."""
    dry_run, token = request.POST.get("mode") != "drop", request.POST.get("staged", "")
    try:
        items = staged(course, token) if token else items_from(request)
    except DropError as exc:
        return render(request, "classroom/staff_droparea.html", {"course": course, "error": str(exc),
                                                                 "students": len(targets(course))}, status=400)
    results = drop(course, items, dry_run, request.user.get_username())
    if dry_run:
        token = token or stage(course, items)
    else:
        unstage(course, token)
    return render(request, "classroom/staff_droparea.html", {
        "course": course, "results": results, "dry_run": dry_run, "items": items, "summary": _summary(results),
        "students": len(results), "staged": token if dry_run else ""})
