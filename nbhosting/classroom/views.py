"""A student's pages of a course: its home (the tracks, with where the student stands), a notebook
open beside the course's navigation, and the updates: merged on open in git mode, offered per
notebook in copy mode. Everything runs as the visitor's own student id."""
import logging
from urllib.parse import quote

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from nbhosting import opening
from nbhosting.classroom import progress, tracks
from nbhosting.classroom.access import Visit, classroom_view
from nbhosting.exchange import sources
from nbhosting.names import InvalidName
from nbhosting.workspaces import workspace
from nbhosting.workspaces.models import Sync, latest_sync
from nbhosting.workspaces.notebooks import Notebook, NotebookNotFound, as_in_course, resolve

log = logging.getLogger(__name__)
REPORTS_SHOWN = 5


def message(request: HttpRequest, status: int, title: str, text: str) -> HttpResponse:
    return render(request, "classroom/message.html", {"title": title, "message": text}, status=status)


def _notebook(visit: Visit, path: str) -> Notebook:
    """Raises InvalidName or NotebookNotFound."""
    notebook = resolve(visit.course.repo_dir, path)
    if sources.hidden(visit.course, notebook.source):  # nbgrader's solutions: as if absent
        raise NotebookNotFound(path)
    return as_in_course(notebook, visit.course.repo_dir) if visit.git else notebook


def _source_path(visit: Visit, notebook: Notebook) -> str:
    return str(notebook.source.relative_to(visit.course.repo_dir))


def _unseen(visit: Visit) -> list[Sync]:
    return [sync for sync in Sync.objects.filter(course=visit.course, student=visit.student, seen=False)
            .order_by("-time")[:REPORTS_SHOWN] if sync.changed_anything]


def _context(visit: Visit, **extra) -> dict:
    outline = tracks.outline(visit.course)
    return {"visit": visit, "course": visit.course, "outline": outline,
            "progress": progress.of_student(visit.course, visit.student, outline),
            "reports": _unseen(visit), **extra}


@classroom_view
@require_GET
def course_home(request: HttpRequest, visit: Visit) -> HttpResponse:
    context = _context(visit)
    if visit.git:
        last = latest_sync(visit.course.pk, visit.student.pk)
        context["behind"] = last is not None and workspace.behind(visit.course, visit.student)
    return render(request, "classroom/course.html", context)


@classroom_view
@require_GET
def notebook_page(request: HttpRequest, visit: Visit, path: str) -> HttpResponse:
    """The notebook beside the course's navigation. In git mode the course's updates are merged
    here, before the page, so that the page can say what the merge did."""
    try:
        notebook = _notebook(visit, path)
    except (InvalidName, NotebookNotFound):
        return message(request, 404, "Unknown notebook", f"{visit.course.name} has no notebook {path}.")
    if visit.git:
        try:
            opening.update_clone(visit.course, visit.student)
        except opening.Conflict as exc:
            return message(request, 409, "Classroom mode is not available", str(exc))
        except opening.NotStarted as exc:
            log.error("update of %s/%s failed: %s", visit.course.name, visit.student.name, exc)
            return message(request, 503, "Your notebooks could not be prepared",
                           "Your files are safe. Please try again in a minute.")
    source = _source_path(visit, notebook)
    context = _context(visit, path=source, open_url=reverse("classroom:open", args=[visit.course.name, source]))
    entry = context["outline"].find(source)
    context["entry"] = entry
    context["previous"], context["next"] = context["outline"].neighbours(entry) if entry else (None, None)
    context["current"] = context["progress"].get(source, progress.NOTHING)
    return render(request, "classroom/notebook.html", context)


@xframe_options_sameorigin
@classroom_view
@require_GET
def open_view(request: HttpRequest, visit: Visit, path: str) -> HttpResponse:
    """Opens the notebook and sends the browser to its server: in the page's frame, or a new tab."""
    try:
        notebook = _notebook(visit, path)
    except (InvalidName, NotebookNotFound):
        return message(request, 404, "Unknown notebook", f"{visit.course.name} has no notebook {path}.")
    try:
        opened = opening.open_notebook(visit.course, visit.student, notebook, git_mode=visit.git)
    except opening.Conflict as exc:
        return message(request, 409, "Workspace in use", str(exc))
    except opening.NotStarted as exc:
        log.error("open %s/%s/%s failed: %s", visit.course.name, path, visit.student.name, exc)
        return message(request, 503, "Your notebook server could not start",
                       "Your files are safe. Please try again in a minute; if it keeps failing, tell the course staff.")
    response = HttpResponseRedirect(opened.url)
    response["Referrer-Policy"] = "no-referrer"
    return response


@classroom_view
@require_POST
def update(request: HttpRequest, visit: Visit) -> HttpResponse:
    """Git mode, on demand: merges the course into the student's clone now."""
    if not visit.git:
        return message(request, 400, "Nothing to merge", "This course copies each notebook; "
                       "a newer version is offered beside the notebook.")
    try:
        sync = opening.update_clone(visit.course, visit.student, force=True)
    except opening.NotStarted as exc:
        log.error("update of %s/%s failed: %s", visit.course.name, visit.student.name, exc)
        return message(request, 503, "The update could not run", "Your files are safe. Please try again in a minute.")
    if sync is None or sync.kind == Sync.Kind.UNCHANGED:
        messages.info(request, "You have the course's latest version.")
    return redirect("classroom:course", course=visit.course.name)


@classroom_view
@require_POST
def new_version(request: HttpRequest, visit: Visit, path: str) -> HttpResponse:
    """Copies the course's version of one notebook again; the student's is kept beside it."""
    try:
        notebook = _notebook(visit, path)
    except (InvalidName, NotebookNotFound):
        return message(request, 404, "Unknown notebook", f"{visit.course.name} has no notebook {path}.")
    try:
        result = workspace.copy_notebook(visit.course, visit.student, notebook, reset=True)
    except workspace.WorkspaceError as exc:
        log.error("new version of %s for %s failed: %s", path, visit.student.name, exc)
        return message(request, 503, "The new version could not be copied", "Your files are safe. Please try again.")
    messages.success(request, f"You have the course's new version of {notebook.target}"
                     + (f"; yours is kept as {result.backup}." if result.backup else "."))
    target = reverse("classroom:notebook", args=[visit.course.name, _source_path(visit, notebook)])
    return HttpResponseRedirect(target)


@classroom_view
@require_POST
def dismiss(request: HttpRequest, visit: Visit) -> HttpResponse:
    Sync.objects.filter(course=visit.course, student=visit.student, seen=False).update(seen=True)
    back = request.POST.get("next", "")
    if back.startswith(f"/course/{quote(visit.course.name)}/"):
        return HttpResponseRedirect(back)
    return redirect("classroom:course", course=visit.course.name)
