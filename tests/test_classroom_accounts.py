"""Student accounts of the classroom (database only, no stack): roster registration, self sign-up
with an enrollment key, and who reaches a course's classroom pages."""
import io

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import URLPattern, reverse

from nbhosting.accounts import identity, roster
from nbhosting.accounts.models import Account, Enrollment, EnrollmentKey, FailedLogin
from nbhosting.classroom import urls as classroom_urls
from nbhosting.workspaces.models import Student, get_or_create_student

PASSWORD = "correct-horse-battery-42"
PATTERNS: list[URLPattern] = classroom_urls.urlpatterns


def write_roster(tmp_path, text: str) -> str:
    path = tmp_path / "roster.csv"
    path.write_text(text)
    return str(path)


def run_register(*args: str) -> str:
    out = io.StringIO()
    call_command("student_register", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize("text, error", [
    ("name,email\nAnn,a@example.org\n", "no username column"),
    ("username,name\nann,Ann\nbad id,Bad\n", "line 3: invalid student id"),
    ("username\nann\nANN\n", "line 3: ANN appears twice"),
    ("username,email\nann,not-an-email\n", "invalid email"),
    ("username,group\nann,a/b\n", "invalid group"),
    ("username\n", "holds no students"),
])
def test_a_bad_roster_is_refused_whole(courses, tmp_path, text, error):
    with pytest.raises(roster.RosterError, match=error):
        roster.read(write_roster(tmp_path, text))
    assert not User.objects.exists() and not Student.objects.exists()


@pytest.mark.django_db
def test_registering_is_idempotent_and_says_what_changed(courses, tmp_path):
    path = write_roster(tmp_path, "username,name,email,group\nann,Ann A,ann@example.org,A\nbob,,,B\n")
    first = run_register("physics", path, "--base-url", "https://nb.example.org")
    # Email is configured (the tests' outbox): ann gets hers by mail, bob (no address) on the screen.
    assert "created ann: password link mailed to ann@example.org" in first
    assert "created bob: password link https://nb.example.org/accounts/set-password/" in first
    (message,) = mail.outbox
    assert message.to == ["ann@example.org"] and "https://nb.example.org/accounts/set-password/" in message.body
    assert "physics: 2 created, 0 updated, 0 unchanged, 0 refused" in first
    ann = User.objects.get(username="ann")
    assert not ann.has_usable_password() and ann.first_name == "Ann A" and ann.email == "ann@example.org"
    assert identity.student_of(ann).name == "ann" and identity.student_of(ann).uid is not None
    assert Enrollment.objects.get(student__name="ann").group == "A"
    assert Enrollment.objects.get(student__name="bob").source == "roster"

    ann.set_password(PASSWORD)
    ann.save()
    again = run_register("physics", path)
    assert "unchanged ann\n" in again and "password link" not in again.split("unchanged ann")[1].split("\n")[0]
    assert "2 unchanged" in again and User.objects.count() == 2

    moved = write_roster(tmp_path, "username,group\nann,B\n")
    assert "updated ann (group A → B)" in run_register("physics", moved)
    assert Enrollment.objects.get(student__name="ann").group == "B"


@pytest.mark.django_db
def test_an_lms_student_id_is_not_merged_silently(courses, tmp_path):
    lms = get_or_create_student("lms-42")  # opened notebooks from LMS links: a uid and workspaces
    path = write_roster(tmp_path, "username\nlms-42\ncarl\n")
    with pytest.raises(CommandError, match="1 created, 0 updated, 0 unchanged, 1 refused"):
        run_register("physics", path)
    assert not User.objects.filter(username="lms-42").exists()
    assert User.objects.filter(username="carl").exists()  # the other lines went through

    output = run_register("physics", path, "--claim-existing")
    assert "created lms-42" in output
    account = Account.objects.get(user__username="lms-42")
    assert account.student == lms  # the same uid, the same workspaces


@pytest.mark.django_db
def test_a_student_id_taken_by_another_account_is_refused_even_when_claiming(courses, tmp_path):
    other = User.objects.create_user("other", password=PASSWORD)
    identity.link_account(other, "dora")
    with pytest.raises(CommandError):
        run_register("physics", write_roster(tmp_path, "username\ndora\n"), "--claim-existing")
    assert not User.objects.filter(username="dora").exists()


@pytest.mark.django_db
def test_unknown_course_is_one_clear_error(courses, tmp_path):
    with pytest.raises(CommandError, match="no course named nope"):
        run_register("nope", write_roster(tmp_path, "username\nann\n"))


# -- self sign-up -------------------------------------------------------------------------------
def signup(client: Client, course: str, key: str, username: str = "newbie", **extra):
    data = {"username": username, "name": "New Bie", "email": "", "password1": PASSWORD, "password2": PASSWORD,
            "key": key, **extra}
    return client.post(f"/accounts/signup/{course}/", data, REMOTE_ADDR="10.1.1.1")


@pytest.mark.django_db
def test_sign_up_needs_the_courses_key(courses, settings):
    physics = courses[0]
    client = Client()
    assert client.get("/accounts/signup/physics/").status_code == 404  # no key, no sign-up
    EnrollmentKey.objects.create(course=physics, key="open-sesame-1", group="evening")
    assert client.get("/accounts/signup/physics/").status_code == 200

    wrong = signup(client, "physics", "guess")
    assert wrong.status_code == 400 and b"not the key" in wrong.content
    assert not User.objects.filter(username="newbie").exists()

    done = signup(client, "physics", "open-sesame-1")
    assert done.status_code == 302 and done["Location"] == "/course/physics/"
    user = User.objects.get(username="newbie")
    assert client.session["_auth_user_id"] == str(user.pk)
    enrollment = Enrollment.objects.get(student__name="newbie")
    assert (enrollment.group, enrollment.source, enrollment.role) == ("evening", "signup", "learner")


@pytest.mark.django_db
def test_sign_up_refuses_a_taken_or_invalid_id_and_weak_passwords(courses):
    EnrollmentKey.objects.create(course=courses[0], key="open-sesame-1")
    get_or_create_student("lms-7")
    assert b"taken" in signup(Client(), "physics", "open-sesame-1", username="LMS-7").content
    assert b"letters, digits" in signup(Client(), "physics", "open-sesame-1", username="-x").content
    weak = signup(Client(), "physics", "open-sesame-1", password1="12345678", password2="12345678")
    assert weak.status_code == 400
    assert not User.objects.exists()


@pytest.mark.django_db
def test_guessing_keys_is_throttled(courses, settings):
    settings.NBH_LOGIN_MAX_FAILURES = 3
    EnrollmentKey.objects.create(course=courses[0], key="open-sesame-1")
    for n in range(3):
        signup(Client(), "physics", f"guess-{n}")
    refused = signup(Client(), "physics", "open-sesame-1")
    assert b"Too many wrong keys" in refused.content and not User.objects.exists()
    assert FailedLogin.objects.filter(username="signup:physics").count() == 3


@pytest.mark.django_db
def test_a_logged_in_student_enrolls_with_the_key_alone(courses):
    history = courses[1]
    EnrollmentKey.objects.create(course=history, key="history-key-1")
    user = User.objects.create_user("erin", password=PASSWORD)
    identity.link_account(user, "erin")
    client = Client()
    client.force_login(user)
    assert client.post("/accounts/signup/history/", {"key": "history-key-1"}).status_code == 302
    assert Enrollment.objects.filter(course=history, student__name="erin").exists()


# -- who reaches a course's pages ---------------------------------------------------------------
def url_of(pattern: URLPattern, course: str) -> str:
    values = {"path": "intro.ipynb", "token": "t" * 43}
    return reverse(f"classroom:{pattern.name}", kwargs={"course": course, **{
        k: values[k] for k in pattern.pattern.regex.groupindex if k in values}})


def test_every_classroom_view_declares_its_access_rule():
    for pattern in PATTERNS:
        assert getattr(pattern.callback, "nbh_access", None) == "classroom", pattern.name


@pytest.mark.django_db
@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.name)
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_is_sent_to_login(courses, pattern, method):
    response = getattr(Client(), method)(url_of(pattern, "physics"))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.django_db
@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.name)
@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("course", ["history", "no-such-course"])
def test_students_of_another_course_are_refused(courses, pattern, method, course):
    user = User.objects.create_user("fay", password=PASSWORD)
    identity.enroll(courses[0], identity.link_account(user, "fay").student)
    client = Client(enforce_csrf_checks=False)
    client.force_login(user)
    response = getattr(client, method)(url_of(pattern, course))
    assert response.status_code == 403 and b"Not your course" in response.content


@pytest.mark.django_db
def test_enrolled_students_and_course_staff_see_the_course(courses, alice):
    user = User.objects.create_user("gil", password=PASSWORD)
    identity.enroll(courses[0], identity.link_account(user, "gil").student, group="A")
    for person in (user, alice):  # alice is physics staff by the staff field, without enrollment
        client = Client()
        client.force_login(person)
        page = client.get("/course/physics/")
        assert page.status_code == 200, person
        assert b"Welcome" in page.content and b"Week 1" in page.content
    client = Client()
    client.force_login(user)
    assert b"/course/physics/" in client.get("/").content  # the home links to the course page


@pytest.mark.django_db
def test_unknown_snapshot_is_a_plain_404(db):
    assert Client().get("/s/" + "x" * 43 + "/").status_code == 404
    assert Client().get("/s/short/").status_code == 404


@pytest.mark.django_db
def test_staff_never_work_as_a_students_account_of_the_same_name(courses, alice):
    """alice manages physics and has no student account; a student account 'alice' is someone else."""
    other = User.objects.create_user("alice2", password=PASSWORD)
    identity.enroll(courses[0], identity.link_account(other, "alice").student)
    client = Client()
    client.force_login(alice)
    assert client.get("/course/physics/").status_code == 403
