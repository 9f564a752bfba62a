"""Grade passback (LTI AGS): each student's nbgrader score per assignment goes to the line item of
that assignment in every LMS context the course was launched from. The line item is created at the
first push, with nbgrader's maximum score; a score is sent again only when it changed; every send
is a ScorePush row (what, to whom, when, and how it went). A failed send is retried a few times,
then recorded and reported: it never stops grading, nor the other scores."""
import logging
import time
from dataclasses import dataclass, field

from django.utils import timezone
from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.exception import LtiException, LtiServiceException
from pylti1p3.grade import Grade
from pylti1p3.lineitem import LineItem as LtiLineItem
from pylti1p3.service_connector import ServiceConnector
from requests import RequestException

from nbhosting.courses.models import Course
from nbhosting.exchange import gradebook
from nbhosting.lti import lti11
from nbhosting.lti.models import Context, LineItem, Member, Outcome, ScorePush
from nbhosting.lti.tool_conf import registration_of

log = logging.getLogger(__name__)
ATTEMPTS = 3
BACKOFF = 1.0  # seconds, doubled after each failed attempt
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
PushError = (LtiException, LtiServiceException, RequestException, ValueError, KeyError)


@dataclass
class Report:
    sent: int = 0
    unchanged: int = 0
    failed: list[str] = field(default_factory=list)


def service_of(context: Context) -> AssignmentsGradesService:
    connector = ServiceConnector(registration_of(context.platform))
    return AssignmentsGradesService(connector, {"scope": context.ags_scopes.split(),  # type: ignore[typeddict-item]
                                                "lineitems": context.lineitems_url})


def grade_contexts(course: Course):
    return Context.objects.filter(course=course).exclude(lineitems_url="").select_related("platform")


def has_destinations(course: Course) -> bool:
    """Whether any LMS takes this course's grades: an LTI 1.3 context with AGS, or 1.1 outcomes."""
    return grade_contexts(course).exists() or Outcome.objects.filter(course=course).exists()


def push(course: Course, rows: list[dict] | None = None, only_changed: bool = True) -> Report:
    """`rows`: the gradebook's (read from nbgrader when not given)."""
    report = Report()
    if not has_destinations(course):
        return report
    if rows is None:
        rows = gradebook.grades(course)
    for context in grade_contexts(course):
        _push_context(context, rows, only_changed, report)
    sent, unchanged, failed = lti11.push(course, rows, only_changed)
    report.sent, report.unchanged = report.sent + sent, report.unchanged + unchanged
    report.failed.extend(failed)
    return report


def _push_context(context: Context, rows: list[dict], only_changed: bool, report: Report) -> None:
    if SCORE_SCOPE not in context.ags_scopes.split():
        report.failed.append(f"{context}: the LMS gives no score scope")
        return
    members = {m.identity.student.name: m for m in
               Member.objects.filter(context=context).select_related("identity__student")}
    service = service_of(context)
    for row in rows:
        member = members.get(row["student"])
        if member is None or row["score"] is None:
            continue
        last = (ScorePush.objects.filter(context=context, student=member.identity.student,
                                         assignment=row["assignment"], status=ScorePush.Status.SENT)
                .order_by("-sent_at").first())
        if only_changed and last and (last.score, last.maximum) == (row["score"], row["max_score"]):
            report.unchanged += 1
            continue
        if _send(context, service, member, row):
            report.sent += 1
        else:
            report.failed.append(f"{row['student']} {row['assignment']} → {context}")


def _send(context: Context, service: AssignmentsGradesService, member: Member, row: dict) -> bool:
    error, attempt = "", 0
    for attempt in range(1, ATTEMPTS + 1):
        try:
            lineitem = _lineitem(context, service, row["assignment"], row["max_score"])
            grade = (Grade().set_score_given(float(row["score"])).set_score_maximum(float(row["max_score"]))
                     .set_user_id(member.identity.subject).set_timestamp(timezone.now().isoformat())
                     .set_activity_progress("Completed").set_grading_progress("FullyGraded"))
            service.put_grade(grade, LtiLineItem({"id": lineitem.url}))  # type: ignore[typeddict-item]
            error = ""
            break
        except PushError as exc:
            error = _describe(exc)
            log.warning("grade of %s for %s to %s, attempt %d: %s", member.identity.student.name,
                        row["assignment"], context, attempt, error)
            if attempt < ATTEMPTS:
                time.sleep(BACKOFF * 2 ** (attempt - 1))
    ScorePush.objects.create(context=context, course=context.course, student=member.identity.student,
                             assignment=row["assignment"], score=row["score"], maximum=row["max_score"],
                             status=ScorePush.Status.FAILED if error else ScorePush.Status.SENT,
                             attempts=attempt, error=error)
    return not error


def _lineitem(context: Context, service: AssignmentsGradesService, assignment: str, maximum: float) -> LineItem:
    known = LineItem.objects.filter(context=context, assignment=assignment).first()
    if known is not None:
        return known
    wanted = (LtiLineItem().set_tag(f"nbgrader:{context.course.name}:{assignment}")
              .set_resource_id(f"nbgrader:{assignment}").set_label(assignment).set_score_maximum(maximum))
    found = service.find_or_create_lineitem(wanted, find_by="tag")
    made, _ = LineItem.objects.get_or_create(context=context, assignment=assignment,
                                             defaults={"url": found.get_id(), "score_maximum": maximum})
    return made


def _describe(exc: Exception) -> str:
    response = exc.args[0] if exc.args else None
    if hasattr(response, "status_code"):  # pylti1p3 raises with the HTTP response
        return f"HTTP {response.status_code} from {response.url}: {response.text[:200]}"
    return f"{type(exc).__name__}: {exc}"[:500]

