"""The entry points that LMS links point to. Each open: validate, trust, workspace, container, redirect."""
import logging

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_GET

from nbhosting import opening
from nbhosting.courses.models import Course
from nbhosting.exchange import sources
from nbhosting.gateway import launch
from nbhosting.gateway.pages import error_page, framable
from nbhosting.names import (
    InvalidName,
    validate_course,
    validate_notebook_path,
    validate_student,
)
from nbhosting.sizes import format_size
from nbhosting.workspaces.models import get_or_create_student
from nbhosting.workspaces.notebooks import NotebookNotFound, resolve

log = logging.getLogger(__name__)
TRUTHY = ("1", "true", "yes", "on")


@require_GET
def lazy_copy(request: HttpRequest, course: str, notebook: str, student: str) -> HttpResponse:
    return _open(request, course, notebook, student, git_mode=False)


@require_GET
def git_repo(request: HttpRequest, course: str, notebook: str, student: str) -> HttpResponse:
    return _open(request, course, notebook, student, git_mode=True)


def _open(request: HttpRequest, course_name: str, path: str, student_name: str, git_mode: bool) -> HttpResponse:
    try:
        validate_course(course_name)
        validate_student(student_name)
        validate_notebook_path(path)
    except InvalidName as exc:
        return error_page(request, 400, "Invalid link", str(exc))
    course = Course.objects.filter(name=course_name).first()
    if course is None:
        return error_page(request, 404, "Unknown course", f"There is no course named {course_name}.")
    try:
        launch.check(request, course, path, student_name)
        notebook = resolve(course.repo_dir, path)
        if sources.hidden(course, notebook.source):  # nbgrader's solutions: as if absent
            raise NotebookNotFound(path)
    except launch.LaunchRefused as exc:
        return error_page(request, 403, "Link refused", str(exc))
    except NotebookNotFound:
        return error_page(request, 404, "Unknown notebook", f"{course_name} has no notebook {path}.")
    if git_mode and sources.refuses_clone(course):
        return error_page(
            request, 409, "Classroom mode is not available for this course",
            f"{course_name} keeps nbgrader's sources (with their solutions) in its repository, and a "
            "clone would carry them. Open its notebooks one by one from your course's links instead.",
        )
    try:
        student = get_or_create_student(student_name)
        reset = not git_mode and request.GET.get("forcecopy", "").lower() in TRUTHY
        opened = opening.open_notebook(course, student, notebook, git_mode=git_mode, reset=reset)
    except opening.Conflict as exc:
        return error_page(request, 409, "Workspace in use", str(exc))
    except opening.Full:
        return error_page(
            request, 507, "Your workspace is full",
            f"Your files in {course_name} use all of your disk quota ({format_size(course.quota_bytes)}), so "
            "this notebook could not be copied. Delete files you no longer need from a notebook you "
            "already have open (or ask the course staff), then open the link again.",
        )
    except opening.NotStarted as exc:
        log.error("open %s/%s/%s failed: %s", course_name, path, student_name, exc)
        return error_page(
            request, 503, "Your notebook server could not start",
            "The platform could not start your notebook server just now. Your files are safe. "
            "Please try again in a minute; if it keeps failing, tell the course staff.",
        )
    return framable(HttpResponseRedirect(opened.url))


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, 404, "Not found", "There is nothing at this address.")
