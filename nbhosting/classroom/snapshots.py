"""Read-only snapshots of a student's notebook: a static HTML rendering (nbconvert), readable by
anyone with its unguessable URL (/s/<token>/) until the student revokes it.

The notebook is read as the student (workspace.read_file: their uid, no link followed), then
rendered here from that copy. The page is the student's content on the platform's own site, so
it is served sandboxed: no script runs, and it cannot reach the site's cookies or pages."""
import logging
import os
import stat

import jupytext
import nbformat
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from nbhosting.classroom import tracks
from nbhosting.classroom.access import Visit, classroom_view
from nbhosting.classroom.models import Snapshot
from nbhosting.courses.models import Course
from nbhosting.folders import root_folder
from nbhosting.workspaces import workspace
from nbhosting.workspaces.models import Student
from nbhosting.workspaces.peek import Peek

log = logging.getLogger(__name__)
LIMIT = 20_000_000  # bytes of notebook
SANDBOX = ("sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
           "frame-ancestors 'none'")


class SnapshotError(ValueError):
    pass


def shareable(course: Course, student: Student, git_mode: bool) -> list[tuple[tracks.Entry, str]]:
    """The course's notebooks that the workspace holds, with their paths in it."""
    result = []
    with Peek(workspace.workspace_dir(course, student)) as peek:
        for entry in tracks.outline(course).entries:
            target = entry.path if git_mode else str(os.path.splitext(entry.path)[0]) + ".ipynb"
            info = peek.stat(target)
            if info is not None and stat.S_ISREG(info.st_mode):
                result.append((entry, target))
    return result


def make(course: Course, student: Student, target: str) -> Snapshot:
    """Raises SnapshotError with a readable reason."""
    try:
        data = workspace.read_file(course, student, target, limit=LIMIT)
    except workspace.WorkspaceError as exc:
        raise SnapshotError(exc.detail) from None
    html = render_html(data, target)
    snapshot = Snapshot(course=course, student=student, path=target)
    folder = root_folder(settings.DATA_ROOT / "snapshots", 0o700)
    partial = folder / f".{snapshot.token}.partial"
    partial.write_text(html, encoding="utf-8")
    partial.rename(snapshot.html_path)
    snapshot.save()
    log.info("%s/%s shared %s as %s", course.name, student.name, target, snapshot.token[:8])
    return snapshot


def render_html(data: bytes, path: str) -> str:
    from nbconvert import HTMLExporter  # heavy: imported by the first share only

    try:
        text = data.decode("utf-8")
        notebook = nbformat.reads(text, as_version=4) if path.endswith(".ipynb") else \
            jupytext.reads(text, fmt=os.path.splitext(path)[1][1:])
        # Outputs are the student's HTML: cleaned here, and the page is sandboxed anyway.
        body, _ = HTMLExporter(template_name="lab", sanitize_html=True).from_notebook_node(notebook)
    except (UnicodeDecodeError, ValueError, nbformat.ValidationError, KeyError) as exc:
        raise SnapshotError(f"{path} cannot be read as a notebook: {' '.join(str(exc).split())[:200]}") from None
    return body


def revoke(snapshot: Snapshot) -> None:
    Snapshot.objects.filter(pk=snapshot.pk).update(revoked=timezone.now())
    snapshot.html_path.unlink(missing_ok=True)


def active(course: Course, student: Student) -> list[Snapshot]:
    return list(Snapshot.objects.filter(course=course, student=student, revoked__isnull=True).order_by("-created"))


# -- pages --------------------------------------------------------------------------------------
@classroom_view
@require_http_methods(["GET", "POST"])
def shares(request: HttpRequest, visit: Visit) -> HttpResponse:
    """The student's shared snapshots of this course; POST shares one more."""
    candidates = shareable(visit.course, visit.student, visit.git)
    if request.method == "POST":
        target = request.POST.get("path", "")
        if target not in {path for _, path in candidates}:
            messages.error(request, "Choose one of your notebooks of this course.")
        else:
            try:
                snapshot = make(visit.course, visit.student, target)
                messages.success(request, f"Shared {target}: {request.build_absolute_uri(public_path(snapshot))}")
            except SnapshotError as exc:
                messages.error(request, f"{target} could not be shared: {exc}")
        return redirect("classroom:shares", course=visit.course.name)
    return render(request, "classroom/shares.html", {
        "visit": visit, "course": visit.course, "candidates": candidates,
        "snapshots": active(visit.course, visit.student)})


@classroom_view
@require_POST
def revoke_view(request: HttpRequest, visit: Visit, token: str) -> HttpResponse:
    snapshot = Snapshot.objects.filter(token=token, course=visit.course, student=visit.student,
                                       revoked__isnull=True).first()
    if snapshot is None:
        return render(request, "classroom/message.html", {"title": "Not found", "message": "No such shared notebook."},
                      status=404)
    revoke(snapshot)
    messages.success(request, f"The link to {snapshot.path} no longer works.")
    return redirect("classroom:shares", course=visit.course.name)


def public_path(snapshot: Snapshot) -> str:
    return f"/s/{snapshot.token}/"


@require_GET
def public(request: HttpRequest, token: str) -> HttpResponse:
    """Anyone with the link; a revoked or unknown one is a plain 404."""
    snapshot = Snapshot.objects.filter(token=token, revoked__isnull=True).first() if len(token) == 43 else None
    try:
        html = snapshot.html_path.read_bytes() if snapshot else None
    except OSError:
        html = None
    if html is None:
        response = render(request, "classroom/message.html", {
            "title": "Not found", "message": "There is no shared notebook at this address (any more)."}, status=404)
    else:
        response = HttpResponse(html, content_type="text/html; charset=utf-8")
        response["Content-Security-Policy"] = SANDBOX
        response["X-Robots-Tag"] = "noindex"
    response["Cache-Control"] = "no-store"  # a revoked snapshot must not live on in caches
    response["Referrer-Policy"] = "no-referrer"
    response["X-Content-Type-Options"] = "nosniff"
    return response
