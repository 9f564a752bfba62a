"""LTI 1.1 for older LMSs: OAuth 1.0a signed launches (oauthlib verifies the signature with the
consumer's secret), replay protection (a nonce is accepted once within the timestamp window, kept
in the database), and the Basic Outcomes service to send a score back.

A launch names course, notebook and mode in its custom parameters (custom_course ...), like an
LTI 1.3 one; its Instructor or TA roles count only in a context (`context_id`) mapped to the course
(nbhosting.lti.contexts). custom_assignment names the nbgrader assignment whose score goes back
to that link."""
import logging
import re
import time
from xml.sax.saxutils import escape

import requests
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from oauthlib.oauth1 import Client, RequestValidator, SignatureOnlyEndpoint

from nbhosting.accounts import identity
from nbhosting.accounts.models import Enrollment
from nbhosting.gateway.pages import error_page
from nbhosting.lti import contexts, launching, roles, throttle
from nbhosting.lti.models import Consumer, OAuthNonce, Outcome, ScorePush
from nbhosting.lti.views import open_for
from nbhosting.workspaces.notebooks import NotebookNotFound, resolve

log = logging.getLogger(__name__)
ASSIGNMENT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")  # an nbgrader assignment name
WINDOW = 600  # seconds a launch's timestamp may differ from our clock (oauthlib's default)


class Validator(RequestValidator):
    enforce_ssl = False  # the site's scheme is nginx's business; the signature covers the URL
    timestamp_lifetime = WINDOW
    dummy_client = "nbhosting-no-such-consumer"

    def check_client_key(self, client_key: str) -> bool:
        return 0 < len(client_key) <= 100

    def check_nonce(self, nonce: str) -> bool:
        return 0 < len(nonce) <= 100

    def validate_client_key(self, client_key: str, request) -> bool:
        return Consumer.objects.filter(key=client_key).exists()

    def get_client_secret(self, client_key: str, request) -> str:
        consumer = Consumer.objects.filter(key=client_key).first()
        return consumer.secret if consumer else "dummy-secret-of-no-consumer"

    def validate_timestamp_and_nonce(self, client_key, timestamp, nonce, request, request_token=None,
                                     access_token=None) -> bool:
        # Only a look here (before the signature is checked); `remember_nonce` keeps it afterwards.
        return not OAuthNonce.objects.filter(consumer__key=client_key, nonce=nonce, timestamp=int(timestamp)).exists()


def remember_nonce(consumer: Consumer, nonce: str, timestamp: int) -> bool:
    """False when the same nonce was used already: of two identical launches, one only passes."""
    OAuthNonce.objects.filter(timestamp__lt=int(time.time()) - 2 * WINDOW).delete()
    try:
        with transaction.atomic():
            OAuthNonce.objects.create(consumer=consumer, nonce=nonce, timestamp=timestamp)
    except IntegrityError:
        return False
    return True


def verify(request: HttpRequest) -> Consumer | None:
    body = request.body.decode("utf-8", "replace")
    headers = {"Content-Type": request.content_type or "application/x-www-form-urlencoded"}
    valid, oauth = SignatureOnlyEndpoint(Validator()).validate_request(
        request.build_absolute_uri(), request.method, body, headers)
    if not valid:
        return None
    consumer = Consumer.objects.get(key=oauth.client_key)
    return consumer if remember_nonce(consumer, oauth.nonce, int(oauth.timestamp)) else None


@csrf_exempt
@require_POST
def launch(request: HttpRequest) -> HttpResponse:
    if (refused := throttle.launch_refused(request)) is not None:
        return refused
    consumer = verify(request)
    if consumer is None:
        throttle.record_failure(request)
        return error_page(request, 403, "LTI launch refused",
                          "The launch's signature, consumer key, timestamp or nonce is not valid, or it was used.")
    params = request.POST
    custom = {k.removeprefix("custom_"): v for k, v in params.items() if k.startswith("custom_")}
    try:
        target = launching.target_of(consumer.courses.all(), custom)
        # Staff only where an admin mapped the launch's LMS course (context_id) to ours.
        role = contexts.effective_role(roles.lti11_course_role(params.get("roles", "")), consumer,
                                       params.get("context_id", "")[:255], target.course)
        if target.mode == "instructor" or not params.get("user_id"):
            raise launching.Refused(400, "Invalid LTI link", "LTI 1.1 links open notebooks, for a user_id.")
        notebook = resolve(target.course.repo_dir, target.notebook)
    except launching.Refused as refused:
        return error_page(request, refused.status, refused.title, refused.message)
    except NotebookNotFound:
        return error_page(request, 404, "Unknown notebook", "The course has no notebook by that name.")
    person = identity.student_for_external(f"lti11:{consumer.key}", params["user_id"][:255],
                                           name=params.get("lis_person_name_full", ""),
                                           email=params.get("lis_person_contact_email_primary", ""))
    identity.enroll(target.course, person.student, role, source=Enrollment.Source.LTI)
    _remember_outcome(consumer, target.course, person.student, params, custom.get("assignment", ""))
    return open_for(request, target, person.student, notebook)


def _remember_outcome(consumer, course, student, params, assignment: str) -> None:
    url, sourcedid = params.get("lis_outcome_service_url", ""), params.get("lis_result_sourcedid", "")
    if not (url and sourcedid and assignment):
        return
    if not ASSIGNMENT_RE.fullmatch(assignment):
        return
    Outcome.objects.update_or_create(consumer=consumer, course=course, student=student, assignment=assignment,
                                     defaults={"service_url": url[:500], "sourcedid": sourcedid[:500]})


REPLACE_RESULT = """<?xml version="1.0" encoding="UTF-8"?>
<imsx_POXEnvelopeRequest xmlns="http://www.imsglobal.org/services/ltiv1p1/xsd/imsoms_v1p0">
  <imsx_POXHeader><imsx_POXRequestHeaderInfo>
    <imsx_version>V1.0</imsx_version><imsx_messageIdentifier>{message_id}</imsx_messageIdentifier>
  </imsx_POXRequestHeaderInfo></imsx_POXHeader>
  <imsx_POXBody><replaceResultRequest><resultRecord>
    <sourcedGUID><sourcedId>{sourcedid}</sourcedId></sourcedGUID>
    <result><resultScore><language>en</language><textString>{score}</textString></resultScore></result>
  </resultRecord></replaceResultRequest></imsx_POXBody>
</imsx_POXEnvelopeRequest>"""


def send_outcome(outcome: Outcome, score: float, maximum: float) -> str:
    """Basic Outcomes replaceResult (score / maximum, between 0 and 1), signed with the consumer's
    secret and the body's hash; returns an error, or "" when the LMS answered success."""
    value = max(0.0, min(1.0, score / maximum)) if maximum else 0.0
    body = REPLACE_RESULT.format(message_id=f"{outcome.pk}-{time.time_ns()}", sourcedid=escape(outcome.sourcedid),
                                 score=f"{value:.4f}")
    client = Client(outcome.consumer.key, client_secret=outcome.consumer.secret)
    uri, headers, signed = client.sign(outcome.service_url, http_method="POST", body=body,
                                       headers={"Content-Type": "application/xml"})
    try:
        answer = requests.post(uri, data=signed.encode(), headers=headers, timeout=30)
    except requests.RequestException as exc:
        return f"{type(exc).__name__}: {exc}"[:500]
    if answer.status_code != 200 or "<imsx_codeMajor>success</imsx_codeMajor>" not in answer.text:
        return f"HTTP {answer.status_code}: {answer.text[:200]}"
    return ""


def push(course, rows: list[dict], only_changed: bool = True) -> tuple[int, int, list[str]]:
    """(sent, unchanged, failures) of the course's LTI 1.1 outcomes, from the gradebook's rows."""
    scores = {(r["student"], r["assignment"]): r for r in rows if r["score"] is not None}
    sent, unchanged, failed = 0, 0, []
    for outcome in Outcome.objects.filter(course=course).select_related("consumer", "student"):
        row = scores.get((outcome.student.name, outcome.assignment))
        if row is None:
            continue
        last = outcome.pushes.filter(status=ScorePush.Status.SENT).order_by("-sent_at").first()
        if only_changed and last and (last.score, last.maximum) == (row["score"], row["max_score"]):
            unchanged += 1
            continue
        error = send_outcome(outcome, row["score"], row["max_score"])
        ScorePush.objects.create(outcome=outcome, course=course, student=outcome.student, assignment=row["assignment"],
                                 score=row["score"], maximum=row["max_score"], error=error,
                                 status=ScorePush.Status.FAILED if error else ScorePush.Status.SENT)
        if error:
            failed.append(f"{outcome.student.name} {outcome.assignment} → LTI 1.1 {outcome.consumer}: {error}")
        else:
            sent += 1
    return sent, unchanged, failed

