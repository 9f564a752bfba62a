"""Accounts shared by the classroom front door and LTI: identities, enrollments, roles, the login
throttle and one-time password links (database only, no stack)."""
import pytest
from django.contrib.auth.models import User
from django.test import Client

from nbhosting.accounts import identity
from nbhosting.accounts.models import Enrollment, FailedLogin
from nbhosting.accounts.views import set_password_path
from nbhosting.dashboard.access import may_manage
from nbhosting.workspaces.models import get_or_create_student

PASSWORD = "correct-horse-battery-42"


@pytest.fixture
def alice(db) -> User:
    """Shadows the dashboard fixture: same name (physics staff by the staff field), known password."""
    return User.objects.create_user("alice", "alice@example.org", PASSWORD)


def login(client: Client, username: str, password: str, url: str = "/accounts/login/"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR="10.9.9.9")


@pytest.mark.django_db
def test_external_identity_is_stable_and_never_the_email(site):
    first = identity.student_for_external("https://lms.example.org", "sub-1", email="a@example.org")
    again = identity.student_for_external("https://lms.example.org", "sub-1", name="Ann")
    assert first.student == again.student and again.name == "Ann"
    assert "example.org" not in first.student.name and first.student.uid is not None
    other_platform = identity.student_for_external("https://other.example.org", "sub-1")
    assert other_platform.student != first.student


@pytest.mark.django_db
def test_external_name_prefers_a_free_valid_id_else_a_digest(site):
    get_or_create_student("moodle-7")
    taken = identity.student_for_external("https://m.example.org", "7", preferred="moodle-7")
    invalid = identity.student_for_external("https://m.example.org", "x y", preferred="has space")
    free = identity.student_for_external("https://m.example.org", "8", preferred="moodle-8")
    assert taken.student.name.startswith("lti-") and invalid.student.name.startswith("lti-")
    assert free.student.name == "moodle-8"


@pytest.mark.django_db
def test_enrolled_instructors_manage_their_course_and_learners_never(courses, alice):
    physics = courses[0]
    bob = User.objects.create_user("bobby", "", PASSWORD)
    identity.link_account(bob, "bobby")
    assert not may_manage(bob, physics)
    identity.enroll(physics, identity.student_of(bob), Enrollment.Role.LEARNER)
    assert not may_manage(bob, physics)
    identity.enroll(physics, identity.student_of(bob), Enrollment.Role.TA, source=Enrollment.Source.LTI)
    assert may_manage(bob, physics)
    assert Enrollment.objects.get(student__name="bobby").source == "lti"


@pytest.mark.django_db
def test_failed_logins_are_throttled_then_cleared_by_success(alice, settings):
    settings.NBH_LOGIN_MAX_FAILURES = 3
    client = Client()
    for _ in range(3):
        assert login(client, "alice", "wrong").status_code == 200
    refused = login(client, "alice", PASSWORD)
    assert refused.status_code == 200 and b"Too many failed logins" in refused.content
    assert "_auth_user_id" not in client.session
    FailedLogin.objects.all().delete()  # the window has passed
    assert login(client, "alice", PASSWORD).status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)
    assert not FailedLogin.objects.filter(username="alice").exists()


@pytest.mark.django_db
def test_staff_login_shares_the_throttle(alice, settings):
    settings.NBH_LOGIN_MAX_FAILURES = 2
    client = Client()
    login(client, "alice", "wrong", "/staff/login/")
    login(client, "alice", "wrong", "/accounts/login/")
    refused = login(client, "ALICE", PASSWORD, "/staff/login/")
    assert b"Too many failed logins" in refused.content


@pytest.mark.django_db
def test_many_usernames_from_one_address_are_throttled(alice, settings):
    settings.NBH_LOGIN_MAX_FAILURES_PER_ADDRESS = 4
    client = Client()
    for n in range(4):
        login(client, f"guess{n}", "wrong")
    assert b"Too many failed logins" in login(client, "alice", PASSWORD).content


@pytest.mark.django_db
def test_set_password_link_works_once_and_enforces_rules(db):
    user = User.objects.create_user("carol", "", None)  # no usable password yet
    client, path = Client(), set_password_path(user)
    link = client.get(path, follow=True)
    assert b"Choose your password" in link.content
    form_url = link.redirect_chain[-1][0]
    weak = client.post(form_url, {"new_password1": "12345", "new_password2": "12345"})
    assert weak.status_code == 200 and b"too short" in weak.content
    done = client.post(form_url, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    reused = Client().get(path, follow=True)
    assert b"does not work any more" in reused.content


@pytest.mark.django_db
def test_home_lists_a_students_courses_and_sends_staff_to_the_dashboard(courses, alice):
    physics = courses[0]
    client = Client()
    client.force_login(alice)  # alice is physics staff by the staff field
    assert client.get("/").url == "/staff/"
    student = User.objects.create_user("dan", "", PASSWORD)
    identity.enroll(physics, identity.link_account(student, "dan").student)
    client.force_login(student)
    page = client.get("/")
    assert page.status_code == 200 and b"physics" in page.content
    client.logout()
    assert client.get("/").url == "/accounts/login/"
