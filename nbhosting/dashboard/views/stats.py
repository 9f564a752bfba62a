"""A course's statistics page; its figures come as plotly JSON, and each as CSV."""
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.text import slugify

from nbhosting.courses.models import Course
from nbhosting.dashboard.access import course_view, staff_usernames
from nbhosting.stats.figures import DEFAULT_PERIOD, FIGURES, PERIODS, Figure, Scope, since


def _options(request: HttpRequest) -> tuple[str, bool]:
    period = request.GET.get("period", DEFAULT_PERIOD)
    return (period if period in PERIODS else DEFAULT_PERIOD), request.GET.get("staff") == "1"


def _scope(request: HttpRequest, course: Course) -> Scope:
    period, include_staff = _options(request)
    excluded = frozenset() if include_staff else frozenset(staff_usernames(course))
    return Scope(course.name, since(period), excluded)


def _figure(name: str) -> Figure:
    if name not in FIGURES:
        raise Http404("no such figure")
    return FIGURES[name]


@course_view
def stats_page(request: HttpRequest, course: Course) -> HttpResponse:
    period, include_staff = _options(request)
    query = f"period={period}&staff={int(include_staff)}"
    return render(request, "dashboard/stats.html", {
        "course": course, "figures": FIGURES.values(), "periods": PERIODS.keys(), "period": period,
        "include_staff": include_staff, "query": query,
    })


@course_view
def figure_json(request: HttpRequest, course: Course, figure: str) -> HttpResponse:
    chosen = _figure(figure)
    plot, rows = chosen.figure(_scope(request, course))
    return JsonResponse({"name": chosen.name, "rows": rows, **plot})


@course_view
def figure_csv(request: HttpRequest, course: Course, figure: str) -> HttpResponse:
    chosen = _figure(figure)
    response = HttpResponse(chosen.table(_scope(request, course)).csv(), content_type="text/csv; charset=utf-8")
    filename = f"{slugify(course.name)}-{chosen.name}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
