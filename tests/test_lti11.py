"""LTI 1.1: launches signed by a real OAuth 1.0a client (oauthlib's), replays and bad signatures
refused creating nothing, and a Basic Outcomes result that the LMS side verifies (signature and
body hash, with oauthlib) and records."""
import base64
import hashlib
import re
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

import pytest
import requests
from oauthlib.oauth1 import SIGNATURE_TYPE_BODY, Client, RequestValidator, SignatureOnlyEndpoint

from tests.helpers import SERVER_URL, follow_progress
from tests.test_lti13 import counts

KEY, SECRET = "moodle-test", "a-shared-secret-" + secrets.token_hex(8)
HOST = "127.0.0.2"


class LmsValidator(RequestValidator):
    """The LMS's side of the outcome call: our tool signs with the consumer's key and secret."""
    enforce_ssl = False

    def check_client_key(self, client_key):
        return True

    def check_nonce(self, nonce):
        return True

    def validate_client_key(self, client_key, request):
        return client_key == KEY

    def get_client_secret(self, client_key, request):
        return SECRET

    def validate_timestamp_and_nonce(self, *args, **kwargs):
        return True

    @property
    def dummy_client(self):
        return "dummy"


@pytest.fixture(scope="module")
def outcomes():
    """An LMS outcome service on 127.0.0.2 that checks each call and keeps the scores."""
    received: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            url = f"http://{HOST}:{self.server.server_port}{self.path}"
            valid, request = SignatureOnlyEndpoint(LmsValidator()).validate_request(
                url, "POST", body, dict(self.headers))
            body_hash = base64.b64encode(hashlib.sha1(body.encode()).digest()).decode()
            ok = valid and dict(request.oauth_params).get("oauth_body_hash") == body_hash
            if ok:
                received.append((re.search(r"<sourcedId>(.*)</sourcedId>", body)[1],
                                 re.search(r"<textString>(.*)</textString>", body)[1]))
            answer = (f"<imsx_POXEnvelopeResponse><imsx_POXHeader><imsx_POXResponseHeaderInfo><imsx_statusInfo>"
                      f"<imsx_codeMajor>{'success' if ok else 'failure'}</imsx_codeMajor>"
                      f"</imsx_statusInfo></imsx_POXResponseHeaderInfo></imsx_POXHeader></imsx_POXEnvelopeResponse>")
            self.send_response(200 if ok else 401)
            self.send_header("Content-Type", "application/xml")
            self.end_headers()
            self.wfile.write(answer.encode())

    server = ThreadingHTTPServer((HOST, 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://{HOST}:{server.server_port}/outcomes", received
    server.shutdown()


@pytest.fixture(scope="module")
def consumer(stack, demo_repo):
    stack.course("lti11demo", demo_repo)
    stack.course("lti11other", demo_repo)
    secret_file = stack.base / "lti11-secret"
    secret_file.write_text(SECRET)
    stack.nbh("lti-consumer-add", KEY, "--secret-file", str(secret_file), "--course", "lti11demo")
    return f"{stack.url}/lti/11/launch/"


def signed(url: str, params: dict, secret: str = SECRET, **client_options) -> str:
    client = Client(KEY, client_secret=secret, signature_type=SIGNATURE_TYPE_BODY, **client_options)
    _, _, body = client.sign(url, http_method="POST", body=urlencode(params),
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    return body


def post(url: str, body: str) -> requests.Response:
    return requests.post(url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"},
                         allow_redirects=False, timeout=300)


def params(course: str = "lti11demo", **extra) -> dict:
    return {"lti_message_type": "basic-lti-launch-request", "lti_version": "LTI-1p0",
            "resource_link_id": "link-1", "user_id": f"u-{secrets.token_hex(3)}", "roles": "Learner",
            "custom_course": course, "custom_notebook": "intro", **extra}


def test_a_signed_launch_opens_and_its_replay_is_refused(stack, consumer):
    body = signed(consumer, params(lis_person_name_full="Ada Lovelace"))
    first = follow_progress(stack, post(consumer, body))
    assert first.status_code == 302 and SERVER_URL.match(first.headers["Location"])
    before = counts(stack)
    again = post(consumer, body)
    assert again.status_code == 403 and "LTI launch refused" in again.text
    assert counts(stack) == before


@pytest.mark.parametrize("case", ["wrong-secret", "stale", "tampered", "unmapped-course"])
def test_bad_launches_are_refused_creating_nothing(stack, consumer, case):
    before = counts(stack)
    if case == "wrong-secret":
        body = signed(consumer, params(), secret="not-the-secret-at-all")
    elif case == "stale":
        body = signed(consumer, params(), timestamp=str(int(time.time()) - 3600))
    elif case == "tampered":
        body = signed(consumer, params(roles="Learner")).replace("roles=Learner", "roles=Instructor")
    else:
        body = signed(consumer, params(course="lti11other"))
    answer = post(consumer, body)
    assert answer.status_code == 403, answer.text[:300]
    assert counts(stack) == before


def test_basic_outcomes_reach_the_lms(stack, consumer, outcomes):
    service, received = outcomes
    user = f"u-{secrets.token_hex(3)}"
    answer = post(consumer, signed(consumer, params(user_id=user, lis_outcome_service_url=service,
                                                    lis_result_sourcedid="sourced-42", custom_assignment="ps1")))
    assert answer.status_code == 302
    # The score of the link's assignment, as a push from the gradebook sends it (changed ones only).
    student = stack.query("SELECT s.name FROM accounts_externalidentity i JOIN workspaces_student s "
                          "ON s.id = i.student_id WHERE i.subject = ?", user)[0][0]
    rows = [{"student": student, "assignment": "ps1", "score": 1.5, "max_score": 2.0},
            {"student": student, "assignment": "ps2", "score": 2.0, "max_score": 2.0}]
    code = ("from nbhosting.lti.lti11 import push; from nbhosting.courses.models import Course; "
            f"c = Course.objects.get(name='lti11demo'); print(push(c, {rows!r})); print(push(c, {rows!r}))")
    first, second = stack.nbh("shell", "-c", code).stdout.strip().splitlines()[-2:]
    assert (first, second) == ("(1, 0, [])", "(0, 1, [])")
    assert received == [("sourced-42", "0.7500")]
    assert stack.query("SELECT score, maximum, status FROM lti_scorepush WHERE assignment = 'ps1' "
                       "AND outcome_id IS NOT NULL") == [(1.5, 2.0, "sent")]


def test_an_instructor_is_staff_only_from_a_mapped_context(stack, consumer):
    """LTI 1.1 too: an Instructor's role counts only in a context_id an admin linked to the course."""
    def role_after_launch(context_id: str) -> str:
        user = f"t-{secrets.token_hex(3)}"
        answer = post(consumer, signed(consumer, params(user_id=user, roles="Instructor", context_id=context_id)))
        assert answer.status_code == 302, answer.text[:300]
        return stack.query("SELECT e.role FROM accounts_externalidentity i JOIN accounts_enrollment e "
                           "ON e.student_id = i.student_id WHERE i.issuer = ? AND i.subject = ?",
                           f"lti11:{KEY}", user)[0][0]

    assert role_after_launch("moodle-course-7") == "learner"
    stack.nbh("lti-context-add", "--lti11", KEY, "moodle-course-7", "lti11demo")
    assert role_after_launch("moodle-course-7") == "instructor"
    assert role_after_launch("moodle-course-8") == "learner"
    refused = stack.nbh("lti-context-add", "--lti11", KEY, "moodle-course-7", "lti11other", check=False)
    assert refused.returncode != 0 and refused.stderr.count("\n") == 1 and "may not open lti11other" in refused.stderr


def test_a_flood_of_bad_launches_is_throttled_per_address(stack, consumer):
    from tests.test_lti13 import client_at, lti_limits
    _, failures = lti_limits(stack)
    flooder = client_at("127.0.0.11")
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    for _ in range(failures):
        body = signed(consumer, params(), secret="not-the-secret-at-all")
        assert flooder.post(consumer, data=body, headers=headers, timeout=60).status_code == 403
    before = counts(stack)
    refused = flooder.post(consumer, data=signed(consumer, params()), headers=headers, allow_redirects=False,
                           timeout=60)
    assert refused.status_code == 429 and "Too many LTI launches" in refused.text
    assert counts(stack) == before
    assert post(consumer, signed(consumer, params())).status_code == 302  # another address
