"""Student accounts from a roster (nbh student-register): one CSV line per student, with a username
(which is also the student id, so the student grammar applies), a name, an email and a group.

Registering again is harmless: a line whose account exists updates it, or changes nothing. A
username that is already the id of a student without an account (an LMS id, a link's) is not
merged silently into a new account: that student's workspaces would become the account's.
"""
import csv
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from nbhosting.accounts.identity import enroll, link_account
from nbhosting.accounts.models import Account, Enrollment
from nbhosting.courses.models import Course
from nbhosting.names import SEGMENT_RE, InvalidName, validate_student
from nbhosting.workspaces.models import Student

COLUMNS = ("username", "name", "email", "group")


class RosterError(ValueError):
    """The file cannot be registered at all; nothing was changed."""


@dataclass(frozen=True)
class Line:
    number: int
    username: str
    name: str = ""
    email: str = ""
    group: str = ""


@dataclass
class Outcome:
    line: Line
    action: str  # created, updated, unchanged or refused
    detail: str = ""
    user: User | None = None  # set when the account still needs its first password

    @property
    def needs_password(self) -> bool:
        return self.user is not None


def read(path: str) -> list[Line]:
    """Every line, checked before anything is registered: one bad line refuses the file."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as source:
            reader = csv.DictReader(source)
            header = [name.strip().lower() for name in reader.fieldnames or []]
            rows = [{key.strip().lower(): (value or "").strip() for key, value in row.items() if key}
                    for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise RosterError(f"cannot read {path}: {exc}") from None
    if "username" not in header:
        raise RosterError(f"{path} has no username column (columns: {', '.join(COLUMNS)})")
    lines, seen = [], set()
    for number, row in enumerate(rows, start=2):
        line = Line(number, row.get("username", ""), row.get("name", ""), row.get("email", ""), row.get("group", ""))
        problem = _problem(line, seen)
        if problem:
            raise RosterError(f"{path}, line {number}: {problem}")
        seen.add(line.username.lower())
        lines.append(line)
    if not lines:
        raise RosterError(f"{path} holds no students")
    return lines


def _problem(line: Line, seen: set[str]) -> str:
    try:
        validate_student(line.username)
    except InvalidName as exc:
        return str(exc)
    if line.username.lower() in seen:
        return f"{line.username} appears twice"
    if line.email:
        try:
            validate_email(line.email)
        except ValidationError:
            return f"invalid email {line.email!r}"
    if len(line.name) > 150:
        return "the name is longer than 150 characters"
    if line.group and (len(line.group) > 64 or not SEGMENT_RE.fullmatch(line.group)):
        return f"invalid group {line.group!r}: up to 64 characters, no control characters or slashes"
    return ""


def register(course: Course, lines: list[Line], claim_existing: bool = False) -> list[Outcome]:
    outcomes = []
    for line in lines:
        with transaction.atomic():
            outcomes.append(_register(course, line, claim_existing))
    return outcomes


def _register(course: Course, line: Line, claim_existing: bool) -> Outcome:
    user = User.objects.filter(username__iexact=line.username).first()
    account = Account.objects.filter(user=user).select_related("student").first() if user else None
    if account is None:
        refusal = _refusal(line.username, claim_existing)
        if refusal:
            return Outcome(line, "refused", refusal)
    created = user is None
    if created:
        user = User.objects.create_user(line.username, line.email, password=None)  # no password until they choose one
    changes = _update_user(user, line)
    if account is None:
        account = link_account(user, line.username)
        changes.append(f"runs as student {account.student.name}" if not created else "")
    changes += _enroll(course, account.student, line.group)
    action = "created" if created else "updated" if any(changes) else "unchanged"
    detail = ", ".join(change for change in changes if change) if action == "updated" else ""
    return Outcome(line, action, detail, None if user.has_usable_password() else user)


def _refusal(username: str, claim_existing: bool) -> str:
    """Why a new account may not take this student id (empty: it may)."""
    student = Student.objects.filter(name__iexact=username).first()
    if student is None:
        return ""
    owner = Account.objects.filter(student=student).select_related("user").first()
    if owner is not None:
        return f"the student id {student.name} belongs to the account {owner.user.username}"
    if student.name != username:
        return f"the student id {student.name} differs from {username} in case only"
    if not claim_existing:
        return (f"{username} is already a student id without an account (from an LMS or a link); "
                "rerun with --claim-existing to give its workspaces to this account")
    return ""


def _update_user(user: User, line: Line) -> list[str]:
    changes = []
    if line.name and user.first_name != line.name:
        changes.append(f"name {line.name}")
        user.first_name = line.name
    if line.email and user.email != line.email:
        changes.append(f"email {line.email}")
        user.email = line.email
    if changes:
        user.save(update_fields=["first_name", "email"])
    return changes


def _enroll(course: Course, student: Student, group: str) -> list[str]:
    current = Enrollment.objects.filter(course=course, student=student).first()
    if current is None:
        enroll(course, student, Enrollment.Role.LEARNER, group, Enrollment.Source.ROSTER)
        return [f"enrolled in {course.name}" + (f", group {group}" if group else "")]
    if current.group != group:
        # A TA or instructor listed in the roster keeps their role; only the group follows the roster.
        enroll(course, student, current.role, group, Enrollment.Source.ROSTER)
        return [f"group {current.group or '(none)'} → {group or '(none)'}"]
    return []
