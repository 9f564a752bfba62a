"""A job's page (live log) and the JSON it polls."""
import re

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from nbhosting.courses.models import Course
from nbhosting.dashboard import jobs
from nbhosting.dashboard.access import course_view
from nbhosting.dashboard.models import Job

# ASCII digits only (str.isdigit() takes "²", which int() refuses), and few enough that the
# offset fits a file position.
OFFSET_RE = re.compile(r"[0-9]{1,15}")


def _job(course: Course, job: int) -> Job:
    found = Job.objects.filter(course=course, pk=job).first()
    if found is None:
        raise Http404("no such job in this course")
    return found


@course_view
def job_page(request: HttpRequest, course: Course, job: int) -> HttpResponse:
    return render(request, "dashboard/job.html", {"course": course, "job": _job(course, job)})


@course_view
def job_progress(request: HttpRequest, course: Course, job: int) -> HttpResponse:
    offset = request.GET.get("offset", "0")
    if not OFFSET_RE.fullmatch(offset):
        return JsonResponse({"error": f"invalid offset {offset[:40]!r}: a byte offset in the log, up to 15 digits"},
                            status=400)
    return JsonResponse(jobs.progress(_job(course, job), int(offset)))


@course_view
def build_log(request: HttpRequest, course: Course) -> HttpResponse:
    """The latest image build's log (a pull that rebuilt counts too, its log holds the build)."""
    latest = Job.objects.filter(course=course, kind__in=[Job.Kind.BUILD, Job.Kind.REBUILD]).order_by("-created").first()
    if latest is None:
        return render(request, "dashboard/message.html", {
            "course": course, "title": "No build yet", "message": f"{course.name}'s image was never built here.",
        }, status=404)
    return redirect("dashboard:job", course=course.name, job=latest.pk)
