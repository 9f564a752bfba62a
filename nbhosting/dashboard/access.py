"""Who may see and run which course: site admins (is_staff) every course, a course's own staff theirs.

Every dashboard view goes through `course_view` or `staff_view`; a URL without one of them fails
the permission test that walks the dashboard's URL list.
"""
import functools
from collections.abc import Callable

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from nbhosting.accounts.identity import is_enrolled_staff
from nbhosting.courses.models import Course

View = Callable[..., HttpResponse]


def is_admin(user: AbstractBaseUser | AnonymousUser) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def may_manage(user: AbstractBaseUser | AnonymousUser, course: Course) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    if user.is_staff:
        return True
    usernames, groups = course.staff_entries()
    if user.get_username() in usernames:
        return True
    if groups and user.groups.filter(name__in=groups).exists():
        return True
    return is_enrolled_staff(user, course)  # an instructor or TA by LMS role or roster


def visible_courses(user: AbstractBaseUser | AnonymousUser) -> list[Course]:
    courses = Course.objects.order_by("name")
    if is_admin(user):
        return list(courses)
    return [course for course in courses if may_manage(user, course)]


def staff_usernames(course: Course) -> set[str]:
    """Everyone whose own activity counts as staff activity in this course's statistics."""
    usernames, groups = course.staff_entries()
    people: QuerySet = User.objects.filter(Q(is_staff=True) | Q(username__in=usernames) | Q(groups__name__in=groups))
    return usernames | set(people.values_list("username", flat=True))


def _login_first(request: HttpRequest) -> HttpResponse | None:
    if not (request.user.is_authenticated and request.user.is_active):
        return redirect_to_login(request.get_full_path(), login_url=reverse("dashboard:login"))
    return None


def staff_view(view: View) -> View:
    """A page for any logged-in staff member; it shows only what they may manage."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return _login_first(request) or view(request, *args, **kwargs)

    wrapper.nbh_access = "staff"  # type: ignore[attr-defined]
    return wrapper


def course_view(view: View) -> View:
    """A page of one course: login first, then that course's staff (or a site admin) only.
    An unknown course answers 403 like a foreign one, so names cannot be probed."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, course: str, *args, **kwargs) -> HttpResponse:
        if (refused := _login_first(request)) is not None:
            return refused
        found = Course.objects.filter(name=course).first()
        if found is None or not may_manage(request.user, found):
            raise PermissionDenied(f"you do not manage a course named {course}")
        return view(request, found, *args, **kwargs)

    wrapper.nbh_access = "course"  # type: ignore[attr-defined]
    return wrapper
