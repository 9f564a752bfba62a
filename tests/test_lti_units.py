"""LTI pieces that need no stack: which roles make course staff, the OIDC state's rules, the tool
key, and who may see the LTI staff pages."""
import os
import stat
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from pylti1p3.exception import LtiException

from nbhosting.lti import keys, roles, state
from nbhosting.lti.models import LaunchState, Platform

M = "http://purl.imsglobal.org/vocab/lis/v2/membership"
INSTITUTION = "http://purl.imsglobal.org/vocab/lis/v2/institution/person"
SYSTEM = "http://purl.imsglobal.org/vocab/lis/v2/system/person"


@pytest.mark.parametrize("claimed, role", [
    ([f"{M}#Instructor"], "instructor"),
    ([f"{M}#Instructor", f"{M}/Instructor#TeachingAssistant"], "ta"),
    ([f"{M}#Learner", f"{M}#Instructor"], "learner"),  # a Learner never is staff
    ([f"{M}/Learner#NonCreditLearner", f"{M}#Instructor"], "learner"),
    ([f"{INSTITUTION}#Faculty", f"{INSTITUTION}#Instructor", f"{SYSTEM}#Administrator"], "learner"),
    (["Instructor"], "learner"),  # short names are not membership roles of this context
    ([f"{M}#Administrator", f"{M}#ContentDeveloper"], "learner"),
    ([], "learner"),
    (None, "learner"),
])
def test_only_membership_instructor_roles_make_staff(claimed, role):
    assert roles.course_role(claimed) == role


@pytest.mark.parametrize("claimed, role", [
    ("Instructor", "instructor"), ("urn:lti:role:ims/lis/Instructor", "instructor"),
    ("Instructor,Learner", "learner"), ("TeachingAssistant", "ta"),
    ("urn:lti:instrole:ims/lis/Faculty,urn:lti:instrole:ims/lis/Administrator", "learner"), ("", "learner"),
])
def test_lti11_roles(claimed, role):
    assert roles.lti11_course_role(claimed) == role


@pytest.fixture
def platform(db):
    return Platform.objects.create(issuer="https://lms.example.org", client_id="c", auth_login_url="https://a/",
                                   auth_token_url="https://t/", key_set_url="https://k/")


def login(platform, storage_target: str = "") -> tuple[str, str, str | None]:
    nonce = state.new_nonce()
    key, bound = state.new_state(nonce)
    secret = state.save(key, platform, nonce, storage_target)
    return state.PREFIX + bound, nonce, secret


def test_a_state_is_bound_to_its_nonce_and_used_once(platform):
    given, nonce, _ = login(platform)
    row = state.pending(given)
    with pytest.raises(LtiException, match="nonce"):
        state.check(row, given, state.new_nonce(), None)
    forged = given[:-4] + ("0000" if not given.endswith("0000") else "1111")
    with pytest.raises(LtiException, match="nonce"):
        state.check(row, forged, nonce, None)
    state.check(row, given, nonce, None)
    state.consume(row)
    with pytest.raises(LtiException, match="already used"):
        state.consume(row)
    with pytest.raises(LtiException, match="unknown, expired or already used"):
        state.pending(given)


def test_an_old_state_is_refused(platform):
    given, _, _ = login(platform)
    LaunchState.objects.update(expires=timezone.now() - timedelta(seconds=1))
    with pytest.raises(LtiException, match="expired"):
        state.pending(given)


def test_client_side_storage_binds_the_launch_to_the_browser(platform):
    given, nonce, secret = login(platform, "_parent")
    row = state.pending(given)
    assert secret and row.storage_target == "_parent" and secret not in row.storage_digest
    for wrong in (None, "", secret + "x"):
        with pytest.raises(LtiException, match="did not start this launch"):
            state.check(row, given, nonce, wrong)
    state.check(row, given, nonce, secret)


def test_the_tool_key_is_made_once_and_private(site):
    first = keys.jwks()
    path = keys.key_path()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    keys._load.cache_clear()
    assert keys.jwks() == first and "d" not in first["keys"][0]  # the public part only


@pytest.mark.django_db
def test_lti_staff_pages_keep_their_access_rules(courses, alice, bob, admin):
    anonymous = Client()
    assert anonymous.get("/lti/staff/")["Location"].startswith("/staff/login/")
    assert anonymous.get("/lti/staff/course/physics/grades/")["Location"].startswith("/staff/login/")
    teacher = Client()
    teacher.force_login(alice)
    assert teacher.get("/lti/staff/").status_code == 403  # registrations: site admins only
    assert teacher.get("/lti/staff/course/physics/grades/").status_code == 200
    assert teacher.get("/lti/staff/course/history/grades/").status_code == 403
    assert teacher.get("/lti/staff/course/physics/grades/push/").status_code == 405
    root = Client()
    root.force_login(admin)
    page = root.get("/lti/staff/")
    assert page.status_code == 200 and b"/lti/jwks/" in page.content and b"/lti/login/" in page.content


@pytest.mark.django_db
def test_platform_commands(courses, capsys):
    from django.core.management import CommandError, call_command
    add = ["lti_platform_add", "https://moodle.example.org", "client-1", "--deployment", "1", "--deployment", "2",
           "--auth-url", "https://moodle.example.org/mod/lti/auth.php",
           "--token-url", "https://moodle.example.org/mod/lti/token.php",
           "--jwks-url", "https://moodle.example.org/mod/lti/certs.php", "--course", "physics"]
    call_command(*add)
    assert "OIDC login initiation URL: /lti/login/" in capsys.readouterr().out
    call_command("lti_platform_list", "--json")
    listed = capsys.readouterr().out
    assert '"deployments": [\n      "1",\n      "2"\n    ]' in listed and '"physics"' in listed
    for bad, message in [(["--course", "nosuch"], "no course named nosuch"),
                         (["--auth-url", "javascript:alert(1)"], r"not an http\(s\) URL")]:
        with pytest.raises(CommandError, match=message):
            call_command(*add, *bad)
    call_command("lti_platform_remove", "https://moodle.example.org", "client-1", "--deployment", "2")
    assert list(Platform.objects.get().deployments.values_list("deployment_id", flat=True)) == ["1"]
    call_command("lti_platform_remove", "https://moodle.example.org", "client-1")
    assert not Platform.objects.exists()
    with pytest.raises(CommandError, match="no registration"):
        call_command("lti_platform_remove", "https://moodle.example.org", "client-1")


@pytest.mark.django_db
def test_context_commands(courses, capsys):
    """An admin links an LMS context to a course; bad input is one line, and creates nothing."""
    from django.core.management import CommandError, call_command

    from nbhosting.lti.models import Consumer, StaffContext
    physics, history = courses
    moodle = Platform.objects.create(issuer="https://moodle.example.org", client_id="c1", auth_login_url="https://a/",
                                     auth_token_url="https://t/", key_set_url="https://k/")
    moodle.courses.add(physics)
    Consumer.objects.create(key="old-moodle", secret="s" * 20).courses.add(physics)
    for args, message in [
        (["https://nowhere.example.org", "ctx", "physics"], "no LTI 1.3 platform https://nowhere.example.org"),
        (["https://moodle.example.org", "ctx", "physics", "--client-id", "c2"], "with client id c2"),
        (["https://moodle.example.org", "ctx", "nosuch"], "no course named nosuch"),
        (["https://moodle.example.org", "ctx", "history"], "may not open history"),
        (["https://moodle.example.org", " ", "physics"], "invalid context id"),
        (["https://moodle.example.org", "a\nb", "physics"], "invalid context id"),
        (["--lti11", "nokey", "ctx", "physics"], "no LTI 1.1 consumer with key nokey"),
    ]:
        with pytest.raises(CommandError, match=message):
            call_command("lti_context_add", *args)
    assert not StaffContext.objects.exists()
    call_command("lti_context_add", "https://moodle.example.org", "course-v1:X+Y+Z", "physics")
    call_command("lti_context_add", "--lti11", "old-moodle", "42", "physics")
    call_command("lti_context_add", "https://moodle.example.org", "course-v1:X+Y+Z", "physics")
    assert "already linked" in capsys.readouterr().out
    call_command("lti_context_list", "--json")
    listed = capsys.readouterr().out
    assert '"context_id": "course-v1:X+Y+Z"' in listed and '"lti11_consumer": "old-moodle"' in listed
    Platform.objects.create(issuer="https://moodle.example.org", client_id="c2", auth_login_url="https://a/",
                            auth_token_url="https://t/", key_set_url="https://k/")
    with pytest.raises(CommandError, match="several registrations"):
        call_command("lti_context_remove", "https://moodle.example.org", "course-v1:X+Y+Z")
    call_command("lti_context_remove", "https://moodle.example.org", "course-v1:X+Y+Z", "--client-id", "c1")
    with pytest.raises(CommandError, match="is not linked"):
        call_command("lti_context_remove", "https://moodle.example.org", "course-v1:X+Y+Z", "--client-id", "c1")
    assert list(StaffContext.objects.values_list("context_id", flat=True)) == ["42"]


@pytest.mark.django_db
def test_a_staff_role_counts_only_in_a_mapped_context(courses):
    from nbhosting.accounts.models import Enrollment
    from nbhosting.lti import contexts
    from nbhosting.lti.models import StaffContext
    physics, history = courses
    lms = Platform.objects.create(issuer="https://lms.example.org", client_id="c", auth_login_url="https://a/",
                                  auth_token_url="https://t/", key_set_url="https://k/")
    StaffContext.objects.create(platform=lms, context_id="physics-101", course=physics)
    role = Enrollment.Role
    assert contexts.effective_role(role.INSTRUCTOR, lms, "physics-101", physics) == role.INSTRUCTOR
    assert contexts.effective_role(role.TA, lms, "physics-101", physics) == role.TA
    assert contexts.effective_role(role.INSTRUCTOR, lms, "physics-102", physics) == role.LEARNER
    assert contexts.effective_role(role.INSTRUCTOR, lms, "physics-101", history) == role.LEARNER
    assert contexts.effective_role(role.INSTRUCTOR, lms, "", physics) == role.LEARNER
    assert contexts.effective_role(role.LEARNER, lms, "physics-101", physics) == role.LEARNER


@pytest.mark.django_db
def test_the_lti_page_shows_the_mapped_contexts(courses, admin):
    from nbhosting.lti.models import StaffContext
    physics, _ = courses
    lms = Platform.objects.create(issuer="https://lms.example.org", client_id="c", auth_login_url="https://a/",
                                  auth_token_url="https://t/", key_set_url="https://k/")
    root = Client()
    root.force_login(admin)
    assert b"no LMS teacher is staff of any course" in root.get("/lti/staff/").content
    StaffContext.objects.create(platform=lms, context_id="course-v1:Phys+101", course=physics)
    page = root.get("/lti/staff/").content.decode()
    section = page[page.index('id="staff-contexts"'):page.index('id="consumers"')]
    assert "course-v1:Phys+101" in section and "physics" in section and "https://lms.example.org" in section


class Push:
    """A push process of autopush's, which ends as told: None (running), 0 or 1."""
    def __init__(self, made: list, *args, **kwargs):
        self.returncode: int | None = None
        made.append(self)

    def poll(self) -> int | None:
        return self.returncode


def test_a_failed_push_is_tried_again_later_and_a_good_one_is_not(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from nbhosting.lti import autopush
    made: list[Push] = []
    monkeypatch.setattr(autopush.subprocess, "Popen", lambda *a, **k: Push(made, *a, **k))
    monkeypatch.setattr(autopush.layout, "course_dir", lambda course: tmp_path)
    monkeypatch.setattr(autopush, "has_destinations", lambda course: True)
    clock = [1000.0]
    monkeypatch.setattr(autopush.time, "monotonic", lambda: clock[0])
    for table in ("_seen", "_running", "_retry_at"):
        monkeypatch.setattr(autopush, table, {})
    course = SimpleNamespace(name="graded")
    (tmp_path / "gradebook.db").write_text("")

    assert autopush.after_grading(course)  # a gradebook never pushed
    assert not autopush.after_grading(course)  # one push at a time
    made[-1].returncode = 0
    assert not autopush.after_grading(course)  # pushed, unchanged since
    assert autopush.after_grading(course) is False and len(made) == 1

    os.utime(tmp_path / "gradebook.db", (2e9, 2e9))  # a new autograde
    assert autopush.after_grading(course) and len(made) == 2
    made[-1].returncode = 1  # the LMS was down
    assert not autopush.after_grading(course)  # not at once, nor at every loop
    clock[0] += autopush.RETRY_AFTER + 1
    assert autopush.after_grading(course) and len(made) == 3  # later, with no new grade
