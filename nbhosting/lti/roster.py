"""Names and roles (LTI NRPS): the LMS's roster gives the gradebook the names and emails of the
students who launched the course, instead of a CSV import. Members who never launched have no
workspace and no student id here yet, so they wait for their first launch."""
from pylti1p3.exception import LtiException, LtiServiceException
from pylti1p3.names_roles import NamesRolesProvisioningService
from pylti1p3.service_connector import ServiceConnector
from requests import RequestException

from nbhosting.accounts.models import ExternalIdentity
from nbhosting.courses.models import Course
from nbhosting.exchange import gradebook
from nbhosting.lti.models import Context
from nbhosting.lti.tool_conf import registration_of

RosterError = (LtiException, LtiServiceException, RequestException, ValueError, KeyError)


def members_of(context: Context) -> list[dict]:
    connector = ServiceConnector(registration_of(context.platform))
    service = NamesRolesProvisioningService(connector, {"context_memberships_url": context.memberships_url})
    return list(service.get_members())


def gradebook_rows(context: Context, members: list[dict]) -> list[dict]:
    """The gradebook's student rows of the members who have launched from this platform."""
    subjects = {str(m.get("user_id")): m for m in members if m.get("user_id")}
    rows = []
    for identity in (ExternalIdentity.objects.filter(issuer=context.platform.issuer, subject__in=subjects)
                     .select_related("student")):
        member = subjects[identity.subject]
        rows.append({"id": identity.student.name, "first_name": str(member.get("given_name", ""))[:100],
                     "last_name": str(member.get("family_name", ""))[:100], "email": str(member.get("email", ""))})
    return rows


def sync(course: Course) -> tuple[int, list[str]]:
    """(students whose names were set, errors): one LMS that fails does not stop the others."""
    rows: dict[str, dict] = {}
    errors = []
    for context in Context.objects.filter(course=course).exclude(memberships_url="").select_related("platform"):
        try:
            members = members_of(context)
        except RosterError as exc:
            errors.append(f"roster of {context} not read: {type(exc).__name__}: {str(exc)[:200]}")
            continue
        rows.update({row["id"]: row for row in gradebook_rows(context, members)})
    if rows:
        gradebook.add_students(course, list(rows.values()), overwrite=True)
    return len(rows), errors
