"""Everything that changes a course or a container: POST only, with Django's CSRF check."""
import logging

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from nbhosting.containers import lifecycle
from nbhosting.containers.backend import BackendError
from nbhosting.containers.lifecycle import LeaseTimeout, SpawnError, ensure_running
from nbhosting.containers.models import Container
from nbhosting.courses.models import Course
from nbhosting.dashboard import jobs, staff_work
from nbhosting.dashboard.access import course_view, is_admin
from nbhosting.dashboard.forms import CourseSettingsForm
from nbhosting.dashboard.models import Job
from nbhosting.dashboard.views.courses import course as course_page
from nbhosting.names import InvalidName, validate_identity
from nbhosting.workspaces import quota
from nbhosting.workspaces.models import UidRangeExhausted
from nbhosting.workspaces.workspace import WorkspaceError
from nbhosting.workspaces.workspace import ensure as ensure_workspace

log = logging.getLogger(__name__)


def _back(course: Course) -> HttpResponseRedirect:
    return redirect("dashboard:course", course=course.name)


@course_view
@require_POST
def save_settings(request: HttpRequest, course: Course) -> HttpResponse:
    form = CourseSettingsForm(request.POST, instance=course, admin=is_admin(request.user))
    if not form.is_valid():
        return course_page.__wrapped__(request, course, form=form)
    # Only the form's own fields: a pull or build running meanwhile records the commit and image.
    form.save(commit=False).save(update_fields=[name for name, field in form.fields.items() if not field.disabled])
    messages.success(request, "Settings saved." + (" Pull to follow the new git URL or branch."
                                                   if {"git_url", "branch"} & set(form.changed_data) else ""))
    if "quota" in form.changed_data:
        _apply_quota(request, course)
    return _back(course)


def _apply_quota(request: HttpRequest, course: Course) -> None:
    """A new quota holds at once, for the servers that run too."""
    try:
        applied, plain = quota.apply(course)
    except quota.QuotaError as exc:
        messages.error(request, f"The quota is saved but could not be applied: {exc}")
        return
    messages.success(request, f"The quota is set on {applied} workspace(s)."
                     + (f" {len(plain)} made before quotas stay unlimited." if plain else ""))


def _start_job(request: HttpRequest, course: Course, kind: str) -> HttpResponse:
    try:
        job = jobs.create(course, kind, request.user.get_username())
        jobs.start_detached(job)
    except jobs.JobBusy as exc:
        messages.error(request, str(exc))
        return _back(course)
    except OSError as exc:
        messages.error(request, f"The job could not start: {exc}")
        return _back(course)
    return redirect("dashboard:job", course=course.name, job=job.pk)


@course_view
@require_POST
def pull(request: HttpRequest, course: Course) -> HttpResponse:
    return _start_job(request, course, Job.Kind.PULL)


@course_view
@require_POST
def build(request: HttpRequest, course: Course) -> HttpResponse:
    forced = request.POST.get("forced") == "1"
    return _start_job(request, course, Job.Kind.REBUILD if forced else Job.Kind.BUILD)


def _record(course: Course, student: str) -> Container:
    try:
        validate_identity(student)
    except InvalidName:
        raise Http404("no such student") from None
    record = Container.objects.filter(course=course, student__name=student).select_related("student").first()
    if record is None:
        raise Http404(f"{student} has no container in {course.name}")
    return record


def _stop(record: Container, who: str) -> None:
    """The lifecycle's stop: logged with its reason, the server's address closed, the row updated."""
    if lifecycle.stop(record, f"stopped by staff ({who})", wait=lifecycle.STAFF_WAIT) is lifecycle.Stop.BUSY:
        raise LeaseTimeout(f"{record.name} is busy starting or stopping; try again in a moment")


@course_view
@require_POST
def stop_student(request: HttpRequest, course: Course, student: str) -> HttpResponse:
    record = _record(course, student)
    try:
        _stop(record, request.user.get_username())
        messages.success(request, f"Stopped the container of {student}.")
    except (BackendError, LeaseTimeout) as exc:
        messages.error(request, f"Could not stop the container of {student}: {exc}")
    return _back(course)


@course_view
@require_POST
def restart_student(request: HttpRequest, course: Course, student: str) -> HttpResponse:
    record = _record(course, student)
    try:
        _stop(record, request.user.get_username())
        ensure_running(course, record.student)
        messages.success(request, f"Restarted the container of {student}.")
    except (BackendError, LeaseTimeout, SpawnError) as exc:
        messages.error(request, f"Could not restart the container of {student}: {exc}")
    return _back(course)


@course_view
@require_POST
def clear_staff_work(request: HttpRequest, course: Course) -> HttpResponse:
    """Removes the staff's own workspaces (and containers) in this course, so that their next
    open copies the current notebooks afresh. Only staff identities (`_staff-<username>`) are
    touched, whatever the course's staff list holds: never a student's work."""
    cleared = []
    reason = f"staff work cleared by {request.user.get_username()}"
    for student in staff_work.identities(course):
        try:
            if staff_work.clear(course, student, reason, wait=lifecycle.STAFF_WAIT):
                cleared.append(staff_work.username_of(student))
        except (BackendError, LeaseTimeout, WorkspaceError, OSError) as exc:
            messages.error(request, f"Could not clear the work of {staff_work.username_of(student)}: {exc}")
    messages.success(request, f"Cleared the workspaces of: {', '.join(cleared) or 'nobody (none existed)'}.")
    return _back(course)


@course_view
@require_POST
def my_workspace(request: HttpRequest, course: Course) -> HttpResponse:
    """The staff member's own workspace in the course, as a student would have it, under an
    identity of its own (`_staff-<username>`)."""
    name = request.user.get_username()
    try:
        student = staff_work.identity(name)
        ensure_workspace(course, student)
        ready = ensure_running(course, student)
    except InvalidName as exc:
        messages.error(request, str(exc))
        return _back(course)
    except (SpawnError, LeaseTimeout, UidRangeExhausted, WorkspaceError) as exc:
        messages.error(request, f"Your workspace could not start: {exc}")
        return _back(course)
    return HttpResponseRedirect(ready.container.base_url + "tree")
