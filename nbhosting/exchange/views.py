"""The instructors' workspace: /instructor/<course>/ opens the course's grading server."""
import logging

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_GET

from nbhosting.accounts.identity import is_enrolled_staff
from nbhosting.containers.lease import LeaseTimeout
from nbhosting.containers.lifecycle import Ready, SpawnError, ensure_running
from nbhosting.courses.models import Course
from nbhosting.exchange import check, gradebook, layout, sources
from nbhosting.exchange.models import NbgraderCourse
from nbhosting.gateway.pages import error_page
from nbhosting.names import InvalidName, validate_course
from nbhosting.workspaces.models import UidRangeExhausted

log = logging.getLogger(__name__)
LANDING = "formgrader"


@require_GET
@login_required
def workspace(request: HttpRequest, course: str) -> HttpResponse:
    try:
        validate_course(course)
    except InvalidName as exc:
        return error_page(request, 400, "Invalid link", str(exc))
    nbgrader = NbgraderCourse.objects.filter(course__name=course).select_related("course").first()
    # Named an instructor by an admin, or an instructor or TA of the course by LMS role or roster.
    if nbgrader is None or not (nbgrader.is_instructor(request.user)
                                or is_enrolled_staff(request.user, nbgrader.course)):
        return error_page(request, 403, "Not an instructor",
                          f"{request.user.username} is not an instructor of {course}.")
    if not nbgrader.enabled:
        return error_page(request, 404, "nbgrader is off", f"nbgrader is not on for {course}.")
    try:
        ready = _open(nbgrader)
    except (SpawnError, LeaseTimeout, UidRangeExhausted, OSError) as exc:
        log.error("instructors' workspace of %s failed: %s", course, exc)
        return error_page(request, 503, "The grading server could not start",
                          "Please try again in a minute; if it keeps failing, tell the site's admins.")
    return HttpResponseRedirect(ready.container.base_url + LANDING)


def open_grading_server(nbgrader: NbgraderCourse) -> Ready:
    """The course's grading server, ready; for the other doors to it (an LTI instructor launch)."""
    return _open(nbgrader)


def _open(nbgrader: NbgraderCourse) -> Ready:
    """Before the instructors look: vet the drop box, name every student's uid, start the server,
    and put every student who opened the course in the gradebook."""
    course: Course = nbgrader.course
    identity = layout.ensure(course)
    sources.import_sources(course, identity)  # a pull may have brought them since the server started
    check.run(nbgrader)
    ready = ensure_running(course, identity)
    try:
        gradebook.sync_roster(nbgrader)
    except gradebook.GradebookError as exc:
        log.error("roster of %s not synced: %s", course.name, exc)  # grading still works
    return ready
