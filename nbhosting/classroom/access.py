"""Who sees a course's classroom pages: its enrolled students, and its staff. Each person works as
their own student id only: nothing here takes a student id from the URL.

Every view of classroom.urls goes through `classroom_view` (tests/test_classroom_access.py walks
the URL list to check each one)."""
import functools
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from nbhosting.accounts.identity import student_of
from nbhosting.accounts.models import Account, Enrollment, ExternalIdentity
from nbhosting.classroom.models import mode_of
from nbhosting.courses.models import Course
from nbhosting.dashboard.access import may_manage
from nbhosting.names import InvalidName
from nbhosting.workspaces.models import Student, get_or_create_student

View = Callable[..., HttpResponse]


@dataclass
class Visit:
    """A person in one of their courses."""
    course: Course
    student: Student  # whom their notebooks run as
    enrollment: Enrollment | None
    mode: str  # the course's Classroom.Mode
    user: AbstractBaseUser

    @cached_property
    def staff(self) -> bool:
        """May manage the course (site admin, course staff, enrolled TA or instructor). Asked only
        by the pages that show staff's links: an open does not pay for its queries."""
        return bool(self.enrollment and self.enrollment.is_staff) or may_manage(self.user, self.course)

    @property
    def git(self) -> bool:
        return self.mode == "git"

    @property
    def group(self) -> str:
        return self.enrollment.group if self.enrollment else ""


def visit_of(user: AbstractBaseUser | AnonymousUser, course: Course) -> Visit | None:
    student = student_of(user)
    enrollment = Enrollment.objects.filter(course=course, student=student).first() if student else None
    if enrollment is None and not may_manage(user, course):
        return None
    if student is None:
        # Staff without a student account work as their username, as "open my workspace" does,
        # unless that id is someone else's account or LMS identity.
        name = user.get_username()
        if (Account.objects.filter(student__name=name).exclude(user_id=user.pk).exists()
                or ExternalIdentity.objects.filter(student__name=name).exclude(user_id=user.pk).exists()):
            return None
        try:
            student = get_or_create_student(name)
        except InvalidName:
            return None
    return Visit(course, student, enrollment, mode_of(course), user)


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
