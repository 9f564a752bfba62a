"""The pages of the Jupyter menu's "Reset a notebook…" and "Share a read-only copy…" items, beside
File > Stop my server. Like /stop/<secret>/, they are reached with the server's secret, which is
the whole capability: a student in an LMS iframe has no login here. They act on that server's
course and student only."""
import os

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from nbhosting.classroom import progress, snapshots, tracks
from nbhosting.classroom.models import Snapshot
from nbhosting.containers.models import Container
from nbhosting.exchange import sources
from nbhosting.gateway.servers import find
from nbhosting.names import InvalidName
from nbhosting.workspaces import workspace
from nbhosting.workspaces.notebooks import NotebookNotFound, as_in_course, resolve


def _git_mode(record: Container) -> bool:
    return os.path.lexists(workspace.workspace_dir(record.course, record.student) / ".git")


def _page(request: HttpRequest, record: Container, template: str, status: int = 200, **extra) -> HttpResponse:
    response = render(request, template, {"record": record, "course": record.course, **extra}, status=status)
    response["Referrer-Policy"] = "no-referrer"  # the secret is in this page's URL
    return response


def _missing(request: HttpRequest) -> HttpResponse:
    return render(request, "classroom/message.html", {
        "title": "Not found", "message": "There is no notebook server at this address."}, status=404)


@csrf_exempt  # the secret in the URL is the capability, as for /stop/
@require_http_methods(["GET", "POST"])
def reset(request: HttpRequest, secret: str) -> HttpResponse:
    """Lists the course's notebooks in the workspace; POST copies one again from the course,
    keeping the student's version beside it as a backup."""
    record = find(secret)
    if record is None:
        return _missing(request)
    course, student, git_mode = record.course, record.student, _git_mode(record)
    done = ""
    if request.method == "POST":
        try:
            notebook = resolve(course.repo_dir, request.POST.get("path", ""))
            if sources.hidden(course, notebook.source):  # nbgrader's solutions: as if absent
                raise NotebookNotFound(notebook.source.name)
            notebook = as_in_course(notebook, course.repo_dir) if git_mode else notebook
            result = workspace.copy_notebook(course, student, notebook, reset=True)
            done = f"{notebook.target} is the course's version again" + (
                f"; yours is kept as {result.backup}." if result.backup else ".")
        except (InvalidName, NotebookNotFound):
            return _page(request, record, "classroom/message.html", 404, title="Unknown notebook",
                         message="The course has no such notebook.")
        except workspace.WorkspaceError:
            return _page(request, record, "classroom/message.html", 503, title="Not done",
                         message="The notebook could not be copied; your files are safe. Try again in a minute.")
    outline = tracks.outline(course)
    states = progress.of_student(course, student, outline)
    return _page(request, record, "classroom/tools_reset.html", done=done, outline=outline, progress=states,
                 action=f"/reset/{record.secret}/")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def share(request: HttpRequest, secret: str) -> HttpResponse:
    """The student's snapshots of this course; POST shares a notebook or revokes a snapshot."""
    record = find(secret)
    if record is None:
        return _missing(request)
    course, student = record.course, record.student
    candidates = snapshots.shareable(course, student, _git_mode(record))
    done, error = "", ""
    if request.method == "POST" and request.POST.get("revoke"):
        found = Snapshot.objects.filter(token=request.POST["revoke"], course=course, student=student,
                                        revoked__isnull=True).first()
        if found is not None:
            snapshots.revoke(found)
            done = f"The link to {found.path} no longer works."
    elif request.method == "POST":
        target = request.POST.get("path", "")
        if target in {path for _, path in candidates}:
            try:
                made = snapshots.make(course, student, target)
                done = f"Shared {target}: {request.build_absolute_uri(snapshots.public_path(made))}"
            except snapshots.SnapshotError as exc:
                error = f"{target} could not be shared: {exc}"
        else:
            error = "Choose one of your notebooks of this course."
    return _page(request, record, "classroom/tools_share.html", done=done, error=error, candidates=candidates,
                 snapshots=snapshots.active(course, student), action=f"/share/{record.secret}/")
