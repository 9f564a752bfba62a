"""Every dashboard URL, walked from the dashboard's own URL list: refused without login, refused for
another course's staff, POST-only actions refused on GET and without a CSRF token."""
import pytest
from django.test import Client
from django.urls import URLPattern, reverse

from nbhosting.dashboard import urls as dashboard_urls
from nbhosting.dashboard.models import Job

PATTERNS: list[URLPattern] = [p for p in dashboard_urls.urlpatterns if p.name not in dashboard_urls.PUBLIC]
COURSE_PATTERNS = [p for p in PATTERNS if "course" in p.pattern.converters]
POST_ONLY = {"settings", "pull", "build", "stop-student", "restart-student", "clear-staff-work", "my-workspace",
             "droparea-run"}


def url_of(pattern: URLPattern, course: str) -> str:
    values = {"course": course, "student": "s1", "figure": "students",
              "job": Job.objects.filter(course__name=course).values_list("pk", flat=True).first() or 1}
    return reverse(f"dashboard:{pattern.name}", kwargs={k: values[k] for k in pattern.pattern.converters})


def test_every_view_declares_its_access_rule():
    for pattern in PATTERNS:
        assert getattr(pattern.callback, "nbh_access", None) in ("staff", "course"), pattern.name
    assert {p.name for p in PATTERNS} - {p.name for p in COURSE_PATTERNS} == {"courses"}


@pytest.mark.django_db
@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.name)
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_is_sent_to_login(courses, pattern, method):
    url = url_of(pattern, "physics")
    response = getattr(Client(), method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("dashboard:login") + "?next=")
    assert Job.objects.count() == 2  # nothing was started


@pytest.mark.django_db
@pytest.mark.parametrize("pattern", COURSE_PATTERNS, ids=lambda p: p.name)
@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("course", ["history", "no-such-course"])
def test_other_courses_staff_is_refused(courses, alice, pattern, method, course):
    client = Client()
    client.force_login(alice)
    response = getattr(client, method)(url_of(pattern, course))
    assert response.status_code == 403
    assert Job.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(POST_ONLY))
def test_actions_refuse_get(courses, alice, name):
    pattern = next(p for p in COURSE_PATTERNS if p.name == name)
    client = Client()
    client.force_login(alice)
    assert client.get(url_of(pattern, "physics")).status_code == 405


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(POST_ONLY))
def test_actions_need_a_csrf_token(courses, alice, name):
    pattern = next(p for p in COURSE_PATTERNS if p.name == name)
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(url_of(pattern, "physics"), {"forced": "1"})
    assert response.status_code == 403
    assert b"CSRF" in response.content
    assert Job.objects.count() == 2


def test_post_only_list_matches_the_views():
    for pattern in COURSE_PATTERNS:
        wrapped = pattern.callback.__wrapped__
        assert (getattr(wrapped, "__wrapped__", None) is not None) == (pattern.name in POST_ONLY), pattern.name


@pytest.mark.django_db
def test_course_list_shows_only_ones_courses(courses, alice, bob, ta, admin):
    for user, shown in ((alice, {"physics"}), (ta, {"physics"}), (bob, {"history"}), (admin, {"physics", "history"})):
        client = Client()
        client.force_login(user)
        page = client.get(reverse("dashboard:courses")).content.decode()
        listed = {name for name in ("physics", "history") if f'data-course="{name}"' in page}
        assert listed == shown, user.username


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["alice", "ta", "admin"])
def test_course_pages_open_for_their_staff(courses, alice, ta, admin, who):
    client = Client()
    client.force_login({"alice": alice, "ta": ta, "admin": admin}[who])
    for pattern in COURSE_PATTERNS:
        if pattern.name in POST_ONLY:
            continue
        response = client.get(url_of(pattern, "physics"))
        # build-log: no build yet (404); everything else answers.
        assert response.status_code == (404 if pattern.name == "build-log" else 200), pattern.name


@pytest.mark.django_db
def test_login_page_logs_staff_in(courses, alice):
    client = Client()
    response = client.post(reverse("dashboard:login"), {"username": "alice", "password": "alice-password-1",
                                                        "next": "/staff/course/physics/"})
    assert response.status_code == 302 and response["Location"] == "/staff/course/physics/"
    assert client.get("/staff/course/physics/").status_code == 200
    assert client.post(reverse("dashboard:login"), {"username": "alice", "password": "wrong"}).status_code == 200
