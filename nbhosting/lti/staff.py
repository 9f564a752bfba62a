"""Staff pages of LTI: the registrations and the tool's configuration (site admins), and a
course's grade passback record with a button to push now (the course's staff)."""
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from nbhosting.courses.models import Course
from nbhosting.dashboard.access import course_view, is_admin, staff_view
from nbhosting.exchange.gradebook import GradebookError
from nbhosting.exchange.models import nbgrader_of
from nbhosting.lti import grades, roster
from nbhosting.lti.config import tool_urls
from nbhosting.lti.keys import jwks
from nbhosting.lti.models import Consumer, Context, LineItem, Platform, ScorePush, StaffContext

PUSHES_SHOWN = 200


@staff_view
def registrations(request: HttpRequest) -> HttpResponse:
    if not is_admin(request.user):
        raise PermissionDenied("site admins only")
    return render(request, "lti/registrations.html", {
        "platforms": Platform.objects.prefetch_related("deployments", "courses").order_by("issuer", "client_id"),
        "consumers": Consumer.objects.prefetch_related("courses").order_by("key"),
        "staff_contexts": StaffContext.objects.select_related("platform", "consumer", "course")
        .order_by("course__name", "platform__issuer", "consumer__key", "context_id"),
        "urls": tool_urls(request),
        "kid": jwks()["keys"][0]["kid"],
    })


@course_view
def course_grades(request: HttpRequest, course: Course) -> HttpResponse:
    return render(request, "lti/grades.html", {
        "course": course,
        "nbgrader": nbgrader_of(course),
        "contexts": Context.objects.filter(course=course).select_related("platform").order_by("-updated"),
        "lineitems": LineItem.objects.filter(context__course=course).select_related("context").order_by("assignment"),
        "pushes": ScorePush.objects.filter(course=course).select_related("student", "context")
        .order_by("-sent_at")[:PUSHES_SHOWN],
    })


@require_POST
@course_view
def push_grades(request: HttpRequest, course: Course) -> HttpResponse:
    if nbgrader_of(course) is None:
        messages.error(request, f"nbgrader is off for {course.name}: there are no grades to send.")
    else:
        try:
            roster_errors = roster.sync(course)[1]
            report = grades.push(course)
        except GradebookError as exc:
            messages.error(request, str(exc))
        else:
            for error in roster_errors:
                messages.warning(request, error)
            level = messages.error if report.failed else messages.success
            level(request, f"{report.sent} scores sent, {report.unchanged} unchanged, {len(report.failed)} failed"
                  + (": " + "; ".join(report.failed[:10]) if report.failed else "."))
    return HttpResponseRedirect(reverse("lti:course-grades", args=[course.name]))
