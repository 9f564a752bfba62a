"""The courses list and one course's page."""
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from nbhosting.classroom.staff import groups_of
from nbhosting.courses.models import Course
from nbhosting.dashboard import overview
from nbhosting.dashboard.access import course_view, is_admin, staff_view, visible_courses
from nbhosting.dashboard.forms import CourseSettingsForm
from nbhosting.dashboard.models import Job

JOBS_SHOWN = 10


@staff_view
def courses(request: HttpRequest) -> HttpResponse:
    show_archived = request.GET.get("archived") == "1"
    listed = [c for c in visible_courses(request.user) if show_archived or not c.archived]
    return render(request, "dashboard/courses.html", {
        "summaries": overview.summaries(listed), "show_archived": show_archived,
    })


@course_view
def course(request: HttpRequest, course: Course, form: CourseSettingsForm | None = None) -> HttpResponse:
    summary = overview.summaries([course])[0]
    return render(request, "dashboard/course.html", {
        "course": course,
        "summary": summary,
        "tree": overview.notebook_tree(course),
        "students": overview.students(course),
        "groups": groups_of(course),
        "form": form or CourseSettingsForm(instance=course, admin=is_admin(request.user)),
        "jobs": Job.objects.filter(course=course).order_by("-created")[:JOBS_SHOWN],
        "last_build": Job.objects.filter(course=course, kind__in=[Job.Kind.BUILD, Job.Kind.REBUILD])
        .order_by("-created").first(),
        "username": request.user.get_username(),
    }, status=400 if form is not None else 200)
