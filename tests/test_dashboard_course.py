"""The course page (notebooks with their metadata) and its settings form."""
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from nbhosting.containers.models import Container
from nbhosting.courses.models import Course
from nbhosting.workspaces.models import get_or_create_student

SETTINGS = "/staff/course/physics/settings/"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def posted(course: Course, **changes) -> dict:
    values = {name: getattr(course, name) for name in (
        "git_url", "branch", "image", "staff", "trust", "referers", "memory")}
    values.update({"cpus": "", "pids": "", "autopull": "", "autobuild": "", "network": "", "archived": ""})
    values.update(changes)
    return {k: v for k, v in values.items() if v is not False}


@pytest.mark.django_db
def test_course_page_shows_notebooks_with_their_metadata(courses, alice):
    page = client_for(alice).get("/staff/course/physics/").content.decode()
    assert 'data-path="intro.ipynb"' in page and 'data-path="w1/1.2-intro.ipynb"' in page
    assert 'data-path="text/myst-notebook.md"' in page and 'data-path="text/percent-script.py"' in page
    assert '<span class="title">Welcome</span>' in page and '<span class="title">Week 1</span>' in page
    assert '<span class="version">v1.0</span>' in page
    assert "numbers.csv" not in page  # data files are not notebooks


@pytest.mark.django_db
def test_course_staff_saves_settings_but_not_the_admin_only_ones(courses, alice):
    physics = courses[0]
    response = client_for(alice).post(SETTINGS, posted(
        physics, autopull="on", staff="alice dave @physics-ta", trust="legacy", referers="lms.example.org",
        git_url="/etc", image="evil:latest", network="on", memory="64g", quota="100g"))
    assert response.status_code == 302
    physics.refresh_from_db()
    assert physics.autopull and physics.staff == "alice dave @physics-ta" and physics.trust == "legacy"
    assert physics.referers == "lms.example.org"
    # Disabled for course staff: the stored values stay.
    assert (physics.git_url, physics.image, physics.network, physics.memory) == ("/nowhere/physics.git", "", False, "")
    assert physics.quota == ""


@pytest.mark.django_db
def test_admin_changes_git_url_and_limits(courses, admin):
    physics = courses[0]
    response = client_for(admin).post(SETTINGS, posted(
        physics, git_url="https://git.example.org/physics.git", branch="spring", memory="2g", cpus="1.5",
        pids="256", network="on", archived="on", quota="2g"))
    assert response.status_code == 302
    physics.refresh_from_db()
    assert physics.git_url == "https://git.example.org/physics.git" and physics.branch == "spring"
    assert (physics.memory_limit, physics.cpus_limit, physics.pids_limit) == ("2g", 1.5, 256)
    assert physics.quota_bytes == 2 << 30
    assert physics.network and physics.archived


@pytest.mark.django_db
@pytest.mark.parametrize("field, value", [("memory", "lots"), ("cpus", "0"), ("pids", "3"), ("quota", "lots"),
                                          ("branch", "--upload-pack=x"), ("trust", "whatever")])
def test_bad_settings_are_refused_and_change_nothing(courses, admin, field, value):
    physics = courses[0]
    before = Course.objects.filter(pk=physics.pk).values().get()
    response = client_for(admin).post(SETTINGS, posted(physics, autopull="on", **{field: value}))
    assert response.status_code == 400
    assert 'class="errorlist' in response.content.decode()
    assert Course.objects.filter(pk=physics.pk).values().get() == before


@pytest.mark.django_db
def test_staff_list_gives_and_takes_access(courses, alice, bob):
    physics = courses[0]
    assert client_for(bob).get("/staff/course/physics/").status_code == 403
    client_for(alice).post(SETTINGS, posted(physics, staff="alice bob"))
    assert client_for(bob).get("/staff/course/physics/").status_code == 200
    client_for(alice).post(SETTINGS, posted(physics, staff="alice"))
    assert client_for(bob).get("/staff/course/physics/").status_code == 403
    assert not User.objects.get(username="bob").is_staff



@pytest.mark.django_db
def test_courses_list_counts_students_and_the_active_ones(courses, admin):
    physics = courses[0]
    now = timezone.now()
    for name, last_open in (("s1", now - timedelta(hours=1)), ("s2", now - timedelta(days=3)), ("s3", None)):
        Container.objects.create(course=physics, student=get_or_create_student(name), name=f"physics-x-{name}",
                                 last_open=last_open)
    page = client_for(admin).get("/staff/").content.decode()
    row = page.split('data-course="physics"')[1].split("</tr>")[0]
    cells = [cell.split(">", 1)[1].split("<", 1)[0] for cell in row.split("<td")[2:5]]
    assert cells == ["3", "1", "0"]  # students, active in 24 h, running containers
    assert "never" in row  # no pull recorded yet
