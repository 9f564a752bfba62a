"""Who sees a course's classroom pages: its enrolled students, and its staff. Each person works as
their own student id only: nothing here takes a student id from the URL.

Every view of classroom.urls goes through `classroom_view` (tests/test_classroom_access.py walks
the URL list to check each one)."""
import functools
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from nbhosting.accounts.identity import student_of
from nbhosting.accounts.models import Enrollment
from nbhosting.classroom.models import mode_of
from nbhosting.courses.models import Course
from nbhosting.dashboard.access import may_manage
from nbhosting.names import InvalidName
from nbhosting.workspaces.models import Student, get_or_create_student

View = Callable[..., HttpResponse]


@dataclass(frozen=True)
class Visit:
    """A person in one of their courses."""
    course: Course
    student: Student  # whom their notebooks run as
    enrollment: Enrollment | None
    staff: bool  # may manage the course (site admin, course staff, enrolled TA or instructor)
    mode: str  # the course's Classroom.Mode

    @property
    def git(self) -> bool:
        return self.mode == "git"

    @property
    def group(self) -> str:
        return self.enrollment.group if self.enrollment else ""


def visit_of(user: AbstractBaseUser | AnonymousUser, course: Course) -> Visit | None:
    student = student_of(user)
    enrollment = Enrollment.objects.filter(course=course, student=student).first() if student else None
    staff = may_manage(user, course)
    if enrollment is None and not staff:
        return None
    if student is None:
        # Staff without a student account work as their username, as "open my workspace" does.
        try:
            student = get_or_create_student(user.get_username())
        except InvalidName:
            return None
    return Visit(course, student, enrollment, staff, mode_of(course))


def refused(request: HttpRequest, course: str) -> HttpResponse:
    """The same answer for an unknown course and a foreign one, so that names cannot be probed."""
    return render(request, "classroom/message.html", {
        "title": "Not your course", "message": f"You are not enrolled in a course named {course}."}, status=403)


def classroom_view(view: View) -> View:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, course: str, *args, **kwargs) -> HttpResponse:
        if not (request.user.is_authenticated and request.user.is_active):
            return redirect_to_login(request.get_full_path())
        found = Course.objects.filter(name=course).first()
        visit = visit_of(request.user, found) if found else None
        if visit is None:
            return refused(request, course)
        return view(request, visit, *args, **kwargs)

    wrapper.nbh_access = "classroom"  # type: ignore[attr-defined]
    return wrapper
