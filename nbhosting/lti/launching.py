"""From a validated launch to what it opens: the course, notebook and mode its resource link
names, who the person is (the platform and its `sub`, never the email) and what they are in that
course, and the context's grade and roster services, remembered for grade passback.

Everything that can refuse a launch runs before anything is created."""
from dataclasses import dataclass
from typing import Any

from nbhosting.accounts import identity
from nbhosting.accounts.models import Enrollment, ExternalIdentity
from nbhosting.courses.models import Course
from nbhosting.lti import contexts, roles
from nbhosting.lti.models import Context, Member, Platform
from nbhosting.names import InvalidName, validate_course, validate_notebook_path

CUSTOM = "https://purl.imsglobal.org/spec/lti/claim/custom"
CONTEXT = "https://purl.imsglobal.org/spec/lti/claim/context"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DEPLOYMENT = "https://purl.imsglobal.org/spec/lti/claim/deployment_id"
MODES = ("mooc", "git", "instructor")  # instructor: staff only, opens the course's grading side


class Refused(Exception):
    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


@dataclass(frozen=True)
class Target:
    course: Course
    notebook: str
    mode: str


def target_of(courses: Any, custom: dict[str, Any]) -> Target:
    """`courses`: the courses this registration may launch (a queryset)."""
    custom = custom if isinstance(custom, dict) else {}
    name, notebook = str(custom.get("course", "")), str(custom.get("notebook", ""))
    mode = str(custom.get("mode", "") or "mooc")
    try:
        validate_course(name)
        if mode not in MODES:
            raise InvalidName(f"invalid mode {mode!r}: use one of {', '.join(MODES)}")
        if mode != "instructor":
            validate_notebook_path(notebook)
    except InvalidName as exc:
        raise Refused(400, "Invalid LTI link", f"The link's custom parameters are wrong: {exc}.") from None
    course = courses.filter(name=name).first()
    if course is None:  # unknown or not this LMS's: the same answer, so names cannot be probed
        raise Refused(403, "Course not available", f"This LMS is not allowed to open the course {name}.")
    return Target(course, notebook, mode)


def context_id_of(data: dict[str, Any]) -> str:
    context = data.get(CONTEXT)
    return str(context.get("id", ""))[:255] if isinstance(context, dict) else ""


def role_of(platform: Platform, data: dict[str, Any], target: Target) -> str:
    """The launcher's role in our course: the LMS's, if staff only in a context mapped to it."""
    claimed = roles.course_role(data.get(roles.ROLES_CLAIM))
    role = contexts.effective_role(claimed, platform, context_id_of(data), target.course)
    if target.mode == "instructor" and role not in contexts.STAFF:
        if claimed in contexts.STAFF:  # a teacher, but of an LMS course no admin linked to ours
            raise Refused(403, "This LMS course is not linked",
                          contexts.unmapped_message(platform, context_id_of(data), target.course))
        raise Refused(403, "Instructors only", "This link is for the course's instructors and TAs.")
    return role


def admit(platform: Platform, data: dict[str, Any], target: Target, role: str) -> ExternalIdentity:
    """The person's identity and enrollment, and the context's services; the launch was accepted."""
    person = identity.student_for_external(platform.issuer, str(data["sub"]), name=str(data.get("name", "")),
                                           email=str(data.get("email", "")))
    enrolled = Enrollment.objects.filter(course=target.course, student=person.student).values_list("role", "source")
    if enrolled.first() != (role, Enrollment.Source.LTI):  # a warm launch of the same person writes nothing
        identity.enroll(target.course, person.student, role, source=Enrollment.Source.LTI)
    context = remember_context(platform, data, target.course)
    member, created = Member.objects.get_or_create(context=context, identity=person, defaults={"role": role})
    if not created and member.role != role:
        Member.objects.filter(pk=member.pk).update(role=role)
    return person


def remember_context(platform: Platform, data: dict[str, Any], course: Course) -> Context:
    """The context's row, written only when the LMS says something new (a warm launch writes
    nothing here)."""
    context = data.get(CONTEXT) or {}
    ags = data.get(AGS) or {}
    nrps = data.get(NRPS) or {}
    values = {
        "deployment_id": str(data.get(DEPLOYMENT, "")),
        "title": str(context.get("title", ""))[:255],
        "lineitems_url": str(ags.get("lineitems", ""))[:500],
        "ags_scopes": " ".join(ags.get("scope", [])),
        "memberships_url": str(nrps.get("context_memberships_url", ""))[:500],
    }
    found, created = Context.objects.get_or_create(platform=platform, context_id=context_id_of(data),
                                                   course=course, defaults=values)
    if not created and any(getattr(found, k) != v for k, v in values.items()):
        Context.objects.filter(pk=found.pk).update(**values)
        found.refresh_from_db()
    return found
