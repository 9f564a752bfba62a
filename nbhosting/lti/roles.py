"""What an LMS role makes someone in the course a launch opens.

Only context (membership) roles count: they say what the person is in the LMS course that
launched. Institution and system roles (Faculty, Administrator of the whole LMS ...) say nothing
about this course and never make course staff. A Learner (or any Learner sub-role) is a learner,
whatever else the token claims: a token claiming both is treated as the lesser.
"""
from nbhosting.accounts.models import Enrollment

MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership"
INSTRUCTOR = f"{MEMBERSHIP}#Instructor"
TEACHING_ASSISTANTS = {f"{MEMBERSHIP}/Instructor#TeachingAssistant", f"{MEMBERSHIP}#TeachingAssistant"}
LEARNER = f"{MEMBERSHIP}#Learner"
LEARNER_SUBROLES = f"{MEMBERSHIP}/Learner#"
ROLES_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/roles"


def course_role(roles: list[str] | None) -> str:
    roles = [r for r in (roles or []) if isinstance(r, str)]
    if any(r == LEARNER or r.startswith(LEARNER_SUBROLES) for r in roles):
        return Enrollment.Role.LEARNER
    if any(r in TEACHING_ASSISTANTS for r in roles):
        return Enrollment.Role.TA
    if INSTRUCTOR in roles:
        return Enrollment.Role.INSTRUCTOR
    return Enrollment.Role.LEARNER


def lti11_course_role(roles: str) -> str:
    """LTI 1.1's comma-separated roles: short context names (Instructor, TeachingAssistant,
    Learner) or LIS URNs (urn:lti:role:ims/lis/Instructor); urn:lti:instrole:... are institution
    roles and do not count."""
    names = set()
    for role in (roles or "").split(","):
        role = role.strip()
        if role.startswith("urn:lti:role:ims/lis/"):
            role = role.removeprefix("urn:lti:role:ims/lis/")
        elif role.startswith("urn:"):
            continue
        names.add(role.split("/")[0] if "/" in role and role.startswith("Learner") else role)
    if "Learner" in names or "Student" in names:
        return Enrollment.Role.LEARNER
    if "TeachingAssistant" in names or "Instructor/TeachingAssistant" in names:
        return Enrollment.Role.TA
    if "Instructor" in names:
        return Enrollment.Role.INSTRUCTOR
    return Enrollment.Role.LEARNER
