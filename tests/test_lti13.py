"""LTI 1.3 launches from a real platform implementation (the `lti1p3platform` package, run as a
test LMS on 127.0.0.2), end to end: Chromium with third-party cookies blocked, the tool in the LMS
page's iframe, the notebook rendered and a cell run; and every refusal, over HTTP."""
import base64
import json
import re
import secrets
import time

import jwt
import pytest
import requests
from playwright.sync_api import Error as PlaywrightError
from requests.adapters import HTTPAdapter

from tests.browser import ARTIFACTS, chromium
from tests.helpers import SERVER_URL, follow_progress
from tests.lti_platform import DEPLOYMENT_CLAIM, INSTRUCTOR, LEARNER, MEMBERSHIP, LaunchSpec, LmsSite, rsa_pair
from tests.stack import make_repo


@pytest.fixture(scope="module")
def lti_course(stack, demo_repo):
    return stack.course("ltidemo", demo_repo)


@pytest.fixture(scope="module")
def other_course(stack, tmp_path_factory):
    return stack.course("ltiother", make_repo(tmp_path_factory.mktemp("other") / "repo"))


@pytest.fixture(scope="module")
def lms(stack, lti_course, other_course):
    """A registered LMS, allowed to open `ltidemo` only."""
    platform = LmsSite(stack.url)
    stack.nbh(*platform.add_args(lti_course))
    yield platform
    platform.stop()

NOTEBOOK_URL = re.compile(r"/c/[^?#]*/notebooks/intro\.ipynb")
ROLES = "https://purl.imsglobal.org/spec/lti/claim/roles"
INSTITUTION_FACULTY = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Faculty"
SYSTEM_ADMIN = "http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator"


def counts(stack) -> dict[str, int]:
    """Rows that a launch creates: a refused one must create none."""
    tables = ["workspaces_student", "accounts_externalidentity", "accounts_enrollment", "containers_container",
              "lti_context", "lti_member", "auth_user"]
    return {t: stack.query(f"SELECT COUNT(*) FROM {t}")[0][0] for t in tables}


def run_a_cell(tab, frame) -> str:
    """Runs the first code cell once its kernel is idle and its editor has the keyboard focus: each
    step waits on what the page shows, never on a clock."""
    frame.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=300_000)
    frame.wait_for_function("() => (document.querySelector('.jp-Toolbar-kernelName') || {}).innerText"
                            "?.includes('Python 3')", timeout=300_000)
    frame.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=300_000)
    frame.click(".jp-CodeCell .jp-InputArea-editor", timeout=120_000)
    frame.wait_for_function("() => document.activeElement?.closest('.jp-CodeCell .jp-InputArea-editor') != null",
                            timeout=60_000)
    tab.keyboard.press("Shift+Enter")
    frame.wait_for_function(
        "() => [...document.querySelectorAll('.jp-CodeCell .jp-OutputArea-output')]"
        ".some(e => e.innerText.includes('uid'))", timeout=300_000)
    return " ".join(e.inner_text() for e in frame.query_selector_all(".jp-CodeCell .jp-OutputArea-output"))


def value_in(frame, expression: str, timeout: int = 120_000):
    """A JavaScript expression's value in a page or frame, within a timeout: a bare evaluate() has
    none, and waits forever for a frame whose document Playwright lost track of on a loaded machine."""
    return frame.wait_for_function(f"() => ({{value: {expression}}})", timeout=timeout).json_value()["value"]


def what_the_frame_showed(tab, frame) -> str:
    parts = []
    for label, get in (("url", lambda: frame.url), ("messages", lambda: value_in(tab, "window.ltiMessages", 10_000)),
                       ("page", lambda: value_in(frame, "document.body.innerText", 10_000)[:4000])):
        try:
            parts.append(f"{label}: {get()}")
        except Exception as exc:  # noqa: BLE001 - a report of what could be seen, never a new failure
            parts.append(f"{label}: ({exc})")
    return "\n".join(parts)


ENDED = ("document.querySelector('p.message:not(#message)') || document.querySelector('body.failed')"
         " || /could not/.test(document.querySelector('#status')?.innerText) ? document.body.innerText : ''")


def reach_notebook(tab, frame, timeout: float = 300) -> None:
    """Waits until the tool's frame shows the notebook, and fails at once, saying why, when it shows
    a page that ends the launch (an error page, or the storage check's failure) instead."""
    deadline = time.monotonic() + timeout
    while not NOTEBOOK_URL.search(frame.url):
        try:  # an error page, a failed progress page, or the storage check's failure
            said = value_in(frame, ENDED, 2_000)
        except PlaywrightError:  # between two pages
            said = ""
        if said:
            raise AssertionError(f"the launch ended on a page that says: {said}")
        if time.monotonic() > deadline:
            raise AssertionError(f"the notebook did not show within {timeout:.0f} s")
        tab.wait_for_timeout(250)
    frame.wait_for_load_state("load", timeout=300_000)


def storage_rows(stack) -> list[tuple]:
    """Completed launches whose state the server bound to a secret in the platform's storage."""
    return stack.query("SELECT key FROM lti_launchstate WHERE storage_target = '_parent' AND storage_digest != '' "
                       "AND used IS NOT NULL")


@pytest.mark.parametrize("storage", [False, True], ids=["state-fallback", "client-side-storage"])
def test_launch_in_a_cross_site_iframe_without_cookies(stack, lms, lti_course, storage):
    user = f"lms-user-{'s' if storage else 'f'}-{secrets.token_hex(3)}"
    hint = lms.place(LaunchSpec(user, LEARNER, {"course": lti_course, "notebook": "intro"},
                                name="Ada Lovelace", email="ada@example.org"))
    bound_before = storage_rows(stack)
    logged_from = stack.log_offset()
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium(block_third_party_cookies=True, site_isolation=False) as browser:
        tab = browser.new_page()
        tab.goto(lms.page_url(hint, storage=storage))
        frame = tab.wait_for_selector("iframe#tool").content_frame()
        try:
            if storage:  # each step of the storage exchange, as the platform's page sees it
                tab.wait_for_function("() => window.ltiMessages.includes('lti.put_data')", timeout=300_000)
                tab.wait_for_function("() => window.ltiMessages.includes('lti.get_data')", timeout=300_000)
            reach_notebook(tab, frame)
            # Third-party cookies really are blocked in the tool's frame.
            assert value_in(frame, "(document.cookie = 'probe=1; SameSite=None', document.cookie)") == ""
            texts = run_a_cell(tab, frame)
        except Exception as failure:
            # What the frame and the platform's page showed, and what the server logged meanwhile, in the
            # failure itself: a CI run keeps no artifact.
            report = f"{what_the_frame_showed(tab, frame)}\nserver log:\n{stack.log_since(logged_from)[-3000:]}"
            (ARTIFACTS / f"lti13-launch-failure-{'storage' if storage else 'fallback'}.txt").write_text(report)
            raise AssertionError(f"{failure}\n{report}") from failure
        tab.screenshot(path=str(ARTIFACTS / f"lti13-launch-{'storage' if storage else 'fallback'}.png"))
        messages = value_in(tab, "window.ltiMessages")
        stored = value_in(tab, "Object.values(window.ltiStore).flatMap(Object.keys)")
    assert "uid" in texts
    # The client-side storage was used exactly when the platform offered it: the secret went into the
    # platform's page, and the server accepted this launch only against it.
    assert ("lti.put_data" in messages and "lti.get_data" in messages) == storage
    assert any(key.startswith("nbh_state_") for key in stored) == storage
    bound = set(storage_rows(stack)) - set(bound_before)
    assert len(bound) == (1 if storage else 0)
    if storage:
        assert f"nbh_state_{bound.pop()[0]}" in stored
    # The student is the platform's subject, not the email; enrolled as a learner by the LMS.
    rows = stack.query("SELECT s.name, e.role, e.source, i.email FROM accounts_externalidentity i "
                       "JOIN workspaces_student s ON s.id = i.student_id "
                       "JOIN accounts_enrollment e ON e.student_id = s.id WHERE i.subject = ? AND i.issuer = ?",
                       user, lms.issuer)
    assert len(rows) == 1
    name, role, source, email = rows[0]
    assert name.startswith("lti-") and "ada" not in name
    assert (role, source, email) == ("learner", "lti", "ada@example.org")


def launch(lms, session, spec: LaunchSpec, tamper=None):
    return lms.launch(session, spec, tamper)


def claims_of(id_token: str) -> dict:
    payload = id_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def with_claims(form: dict, **changes) -> dict:
    """The attacker's edit: new claims, the platform's signature kept."""
    header, _, signature = form["id_token"].split(".")
    body = base64.urlsafe_b64encode(json.dumps({**claims_of(form["id_token"]), **changes}).encode())
    return {**form, "id_token": f"{header}.{body.decode().rstrip('=')}.{signature}"}


def signed_by_another_key(form: dict) -> dict:
    """An attacker's own key, under the header (kid) of the platform's."""
    private, _ = rsa_pair()
    header = jwt.get_unverified_header(form["id_token"])
    token = jwt.encode({**claims_of(form["id_token"]), "sub": "someone-else"}, private, algorithm="RS256",
                       headers={"kid": header["kid"]})
    return {**form, "id_token": token}


def learner_spec(course: str, **fields) -> LaunchSpec:
    return LaunchSpec(f"user-{secrets.token_hex(3)}", LEARNER, {"course": course, "notebook": "intro"}, **fields)


def test_a_launch_over_http_opens_the_notebook_and_enrolls(stack, lms, lti_course):
    response, _, _ = launch(lms, requests.Session(), learner_spec(lti_course))
    assert response.status_code == 302, response.text[:2000]
    response = follow_progress(stack, response)  # a cold start may answer with the progress page first
    assert response.status_code == 302 and SERVER_URL.match(response.headers["Location"])


REFUSALS = {
    "forged-claims": dict(tamper=lambda f: with_claims(f, **{ROLES: INSTRUCTOR})),
    "forged-signature": dict(tamper=signed_by_another_key),
    "expired": dict(expires_in=-120),
    "wrong-audience": dict(extra_claims={"aud": "another-tool", "azp": "another-tool"}),
    "wrong-azp": dict(extra_claims={"azp": "another-tool"}),
    "unknown-deployment": dict(extra_claims={DEPLOYMENT_CLAIM: "deployment-unknown"}),
    "unknown-state": dict(tamper=lambda f: {**f, "state": "state-" + secrets.token_urlsafe(24) + ".00"}),
    "no-state": dict(tamper=lambda f: {"id_token": f["id_token"]}),
}


@pytest.mark.parametrize("case", REFUSALS, ids=list(REFUSALS))
def test_refused_launches_create_nothing(stack, lms, lti_course, case):
    options = dict(REFUSALS[case])
    tamper = options.pop("tamper", None)
    before = counts(stack)
    response, _, _ = launch(lms, requests.Session(), learner_spec(lti_course, **options), tamper)
    assert response.status_code == 403, response.text[:500]
    assert "LTI launch refused" in response.text
    assert counts(stack) == before


def test_a_replayed_launch_is_refused(stack, lms, lti_course):
    session = requests.Session()
    first, action, form = launch(lms, session, learner_spec(lti_course))
    assert first.status_code == 302
    before = counts(stack)
    again = session.post(action, data=form, allow_redirects=False, timeout=60)
    assert again.status_code == 403 and "already used" in again.text
    assert counts(stack) == before


def test_a_state_from_another_login_is_refused(stack, lms, lti_course):
    """The state is bound to the nonce: one login's state with another login's id_token fails."""
    session = requests.Session()
    action, first = lms.launch_form(session, lms.place(learner_spec(lti_course)))
    _, second = lms.launch_form(session, lms.place(learner_spec(lti_course)))
    before = counts(stack)
    response = session.post(action, data={"id_token": first["id_token"], "state": second["state"]}, timeout=60)
    assert response.status_code == 403 and "nonce" in response.text
    assert counts(stack) == before


@pytest.mark.parametrize("custom", [{"course": "ltiother", "notebook": "intro"},
                                    {"course": "nosuchcourse", "notebook": "intro"}], ids=["unmapped", "unknown"])
def test_a_course_the_platform_is_not_mapped_to_is_refused(stack, lms, other_course, custom):
    before = counts(stack)
    spec = LaunchSpec(f"user-{secrets.token_hex(3)}", INSTRUCTOR, custom)
    response, _, _ = launch(lms, requests.Session(), spec)
    assert response.status_code == 403 and "not allowed to open the course" in response.text
    assert counts(stack) == before


@pytest.fixture(scope="module")
def mapped_context(stack, lms, lti_course) -> str:
    """An LMS course whose teachers an admin made staff of `ltidemo`."""
    stack.nbh("lti-context-add", lms.issuer, "lms-mapped", lti_course)
    return "lms-mapped"


@pytest.mark.parametrize("roles", [
    LEARNER,
    LEARNER + INSTRUCTOR,  # a Learner never is staff, whatever else the token claims
    [INSTITUTION_FACULTY, SYSTEM_ADMIN],  # institution and system roles say nothing of this course
], ids=["learner", "learner-and-instructor", "institution-roles"])
def test_a_learner_asking_for_instructor_pages_is_refused(stack, lms, lti_course, mapped_context, roles):
    """Even in an LMS course whose teachers are staff of ours."""
    before = counts(stack)
    spec = LaunchSpec(f"user-{secrets.token_hex(3)}", roles, {"course": lti_course, "mode": "instructor"},
                      context=mapped_context)
    session = requests.Session()
    response, _, _ = launch(lms, session, spec)
    assert response.status_code == 403 and "Instructors only" in response.text
    assert counts(stack) == before
    # Nor did the refused launch log anyone in.
    for page in (f"/staff/course/{lti_course}/", f"/instructor/{lti_course}/"):
        answer = session.get(stack.url + page, allow_redirects=False, timeout=60)
        assert answer.status_code == 302 and "login" in answer.headers["Location"]


def staff_pages_of(stack, session, course: str) -> list[int]:
    """What this browser gets from the course's staff pages: 200 for its staff."""
    return [session.get(stack.url + page, allow_redirects=False, timeout=300).status_code
            for page in (f"/staff/course/{course}/", f"/instructor/{course}/")]


def role_in(stack, lms, subject: str, course: str) -> list[tuple]:
    return stack.query("SELECT e.role, e.source FROM accounts_externalidentity i JOIN accounts_enrollment e "
                       "ON e.student_id = i.student_id JOIN courses_course c ON c.id = e.course_id "
                       "WHERE i.issuer = ? AND i.subject = ? AND c.name = ?", lms.issuer, subject, course)


def test_an_lms_instructor_manages_the_course_only_from_a_mapped_context(stack, lms, lti_course):
    """An Instructor of an LMS course that no admin linked to ours is refused the staff pages (and
    told what to give the admin), creating nothing; once linked, the same launch makes them staff;
    unlinked, they are not any more."""
    user, context = f"teacher-{secrets.token_hex(3)}", f"lms-course-{secrets.token_hex(3)}"
    spec = LaunchSpec(user, INSTRUCTOR, {"course": lti_course, "mode": "instructor"}, context=context,
                      name="Grace Hopper")
    before = counts(stack)
    session = requests.Session()
    refused, _, _ = launch(lms, session, spec)
    assert refused.status_code == 403 and "not linked" in refused.text, refused.text[:500]
    assert lms.issuer in refused.text and context in refused.text and "nbh lti-context-add" in refused.text
    assert counts(stack) == before
    assert all(code == 302 for code in staff_pages_of(stack, session, lti_course))  # to the login page

    stack.nbh("lti-context-add", lms.issuer, context, lti_course)
    response, _, _ = launch(lms, session, spec)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/staff/course/{lti_course}/")
    page = session.get(stack.url + response.headers["Location"], timeout=60)
    assert page.status_code == 200 and lti_course in page.text
    rows = stack.query("SELECT e.role, u.username, u.password FROM accounts_externalidentity i "
                       "JOIN accounts_enrollment e ON e.student_id = i.student_id "
                       "JOIN auth_user u ON u.id = i.user_id WHERE i.subject = ?", user)
    assert len(rows) == 1 and rows[0][0] == "instructor"
    assert rows[0][2].startswith("!")  # no usable password

    removed = stack.nbh("lti-context-remove", lms.issuer, context, lti_course).stdout
    assert "1 of its teachers are learners there now" in removed
    assert role_in(stack, lms, user, lti_course) == [("learner", "lti")]
    assert staff_pages_of(stack, session, lti_course)[0] == 403  # the same session, staff no more


def test_an_instructor_of_an_unmapped_context_gets_a_learners_view(stack, lms, lti_course):
    """The attack: a teacher of any LMS course names our course in a link of their own. They open
    the notebook as a student, and are staff of nothing."""
    user = f"teacher-{secrets.token_hex(3)}"
    session = requests.Session()
    spec = LaunchSpec(user, INSTRUCTOR, {"course": lti_course, "notebook": "intro"},
                      context=f"another-lms-course-{secrets.token_hex(3)}")
    response = follow_progress(stack, launch(lms, session, spec)[0])
    assert response.status_code == 302 and SERVER_URL.match(response.headers["Location"])
    assert role_in(stack, lms, user, lti_course) == [("learner", "lti")]
    assert stack.query("SELECT i.user_id FROM accounts_externalidentity i WHERE i.subject = ?", user) == [(None,)]
    assert all(code == 302 for code in staff_pages_of(stack, session, lti_course))


def test_a_ta_of_a_mapped_context_is_staff(stack, lms, lti_course, mapped_context):
    user = f"ta-{secrets.token_hex(3)}"
    spec = LaunchSpec(user, [f"{MEMBERSHIP}/Instructor#TeachingAssistant"],
                      {"course": lti_course, "notebook": "intro"}, context=mapped_context)
    response = follow_progress(stack, launch(lms, requests.Session(), spec)[0])
    assert response.status_code == 302 and SERVER_URL.match(response.headers["Location"])
    assert role_in(stack, lms, user, lti_course) == [("ta", "lti")]


def test_deep_linking_round_trip(stack, lms, lti_course):
    """The teacher picks a notebook in our picker, inside the LMS's iframe; the LMS validates our
    signed answer and keeps the link; a student's launch of that link opens the notebook."""
    hint = lms.place(LaunchSpec("teacher-dl", INSTRUCTOR, {}, deep_link=True))
    with chromium(block_third_party_cookies=True, site_isolation=False) as browser:
        tab = browser.new_page()
        tab.goto(lms.page_url(hint))
        frame = tab.wait_for_selector("iframe#tool").content_frame()
        frame.wait_for_selector("#picker", timeout=120_000)
        # Its LMS course is not linked to ours: it may still link notebooks, and is told it is no staff.
        assert "is not linked to" in frame.inner_text(f".staff[data-course='{lti_course}']")
        frame.check(f"input[name=notebook][value='w1/1.2-intro.ipynb'][data-course='{lti_course}']")
        frame.click("#add")
        frame.wait_for_selector("#added", timeout=60_000)
        tab.screenshot(path=str(ARTIFACTS / "lti13-deep-linking.png"))
    assert len(lms.deep_links) == 1
    item = lms.deep_links[0]
    assert item["type"] == "ltiResourceLink" and item["url"] == f"{stack.url}/lti/launch/"
    assert item["custom"] == {"course": lti_course, "notebook": "w1/1.2-intro.ipynb", "mode": "mooc"}
    response, _, _ = launch(lms, requests.Session(), LaunchSpec("student-dl", LEARNER, item["custom"]))
    response = follow_progress(stack, response)
    assert response.status_code == 302 and response.headers["Location"].endswith("/notebooks/w1/1.2-intro.ipynb")


def test_deep_linking_is_for_instructors_and_its_choice_is_signed(stack, lms, lti_course):
    before = counts(stack)
    response, _, _ = launch(lms, requests.Session(), LaunchSpec("learner-dl", LEARNER, {}, deep_link=True))
    assert response.status_code == 403 and "Instructors only" in response.text
    forged = requests.post(f"{stack.url}/lti/deep-link/", timeout=60, data={
        "token": "forged", "course": lti_course, "notebook": "intro", "mode": "mooc"})
    assert forged.status_code == 400
    assert counts(stack) == before


class SourceAddress(HTTPAdapter):
    """Connections from another loopback address: another client, as nginx's X-Real-IP sees it."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **{**kwargs, "source_address": (self.address, 0)})


def client_at(address: str) -> requests.Session:
    session = requests.Session()
    for scheme in ("http://", "https://"):
        session.mount(scheme, SourceAddress(address))
    return session


def lti_limits(stack) -> tuple[int, int]:
    out = stack.nbh("shell", "-c", "from django.conf import settings as s; "
                    "print(s.NBH_LTI_MAX_PENDING_PER_ADDRESS, s.NBH_LTI_MAX_FAILURES_PER_ADDRESS)").stdout
    pending, failures = out.split()[-2:]
    return int(pending), int(failures)


def test_a_flood_of_logins_is_throttled_per_address(stack, lms, lti_course):
    """Logins that no launch completes pile up rows: one address gets a readable 429 past its
    limit, creating no more of them; another address's launch still opens."""
    pending, _ = lti_limits(stack)
    flooder, address = client_at("127.0.0.9"), "127.0.0.9"
    hint = lms.place(learner_spec(lti_course))
    for _ in range(pending):
        assert flooder.get(lms.login_url(hint), allow_redirects=False, timeout=60).status_code == 302
    refused = flooder.get(lms.login_url(hint), allow_redirects=False, timeout=60)
    assert refused.status_code == 429 and "Too many LTI launches" in refused.text
    assert 0 < int(refused.headers["Retry-After"]) <= 300
    rows = stack.query("SELECT COUNT(*) FROM lti_launchstate WHERE address = ? AND used IS NULL", address)
    assert rows == [(pending,)]
    response, _, _ = launch(lms, requests.Session(), learner_spec(lti_course))  # from 127.0.0.1
    assert response.status_code == 302, response.text[:300]


def test_a_flood_of_refused_launches_is_throttled_per_address(stack, lms, lti_course):
    """Past its limit of refused launches, an address gets 429 even for a valid launch, which
    creates nothing and stays usable from its own browser's address."""
    _, failures = lti_limits(stack)
    flooder = client_at("127.0.0.10")
    forged = {"id_token": "x.y.z", "state": "state-" + secrets.token_urlsafe(24) + ".00"}
    for _ in range(failures):
        assert flooder.post(f"{stack.url}/lti/launch/", data=forged, timeout=60).status_code == 403
    action, form = lms.launch_form(requests.Session(), lms.place(learner_spec(lti_course)))
    before = counts(stack)
    refused = flooder.post(action, data=form, allow_redirects=False, timeout=60)
    assert refused.status_code == 429 and "Too many LTI launches" in refused.text
    assert flooder.get(lms.login_url(lms.place(learner_spec(lti_course))), allow_redirects=False,
                       timeout=60).status_code == 429
    assert counts(stack) == before
    assert requests.post(action, data=form, allow_redirects=False, timeout=300).status_code == 302
