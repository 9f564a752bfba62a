"""The one way from a person, whichever door they came in by, to the Student their notebooks run as,
and to what they are in a course. Used by the classroom front door, LTI launches and the dashboard."""
import hashlib

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db import IntegrityError, transaction

from nbhosting.accounts.models import Account, Enrollment, ExternalIdentity
from nbhosting.courses.models import Course
from nbhosting.names import STUDENT_RE
from nbhosting.workspaces.models import Student, get_or_create_account, get_or_create_student

Role = Enrollment.Role


def student_of(user: AbstractBaseUser | AnonymousUser) -> Student | None:
    """The Student a logged-in person runs as: their account's, or their LMS identity's."""
    if not (user.is_authenticated and user.is_active):
        return None
    account = Account.objects.filter(user_id=user.pk).select_related("student").first()
    if account is not None:
        return account.student
    identity = ExternalIdentity.objects.filter(user_id=user.pk).select_related("student").first()
    return identity.student if identity is not None else None


def link_account(user: User, student_name: str) -> Account:
    """Gives a Django user the student id `student_name` (validated by the student grammar)."""
    student = get_or_create_student(student_name)
    account, _ = Account.objects.get_or_create(user=user, defaults={"student": student})
    return account


def external_student_name(issuer: str, subject: str, preferred: str = "") -> str:
    """A readable id when the issuer's own one fits our grammar, else a digest: never an email,
    and stable because the identity row keeps whichever was chosen at the first launch."""
    if preferred and STUDENT_RE.fullmatch(preferred) and not Student.objects.filter(name=preferred).exists():
        return preferred
    digest = hashlib.sha256(f"{issuer}\n{subject}".encode()).hexdigest()[:20]
    return f"lti-{digest}"


def student_for_external(issuer: str, subject: str, preferred: str = "", name: str = "",
                         email: str = "") -> ExternalIdentity:
    """The identity of (issuer, subject), created at its first launch; the same workspace every time."""
    identity = ExternalIdentity.objects.filter(issuer=issuer, subject=subject).select_related("student").first()
    if identity is None:
        student = get_or_create_account(external_student_name(issuer, subject, preferred))
        try:
            with transaction.atomic():
                identity = ExternalIdentity.objects.create(issuer=issuer, subject=subject, student=student)
        except IntegrityError:  # a concurrent first launch won
            identity = ExternalIdentity.objects.get(issuer=issuer, subject=subject)
    if (name, email) != (identity.name, identity.email) and (name or email):
        ExternalIdentity.objects.filter(pk=identity.pk).update(name=name or identity.name,
                                                                email=email or identity.email)
        identity.refresh_from_db()
    return identity


def enroll(course: Course, student: Student, role: str = Role.LEARNER, group: str | None = None,
           source: str = Enrollment.Source.ADMIN) -> Enrollment:
    """Records (or updates) what a student is in a course; the latest word of its source wins."""
    defaults: dict[str, str] = {"role": role, "source": source}
    if group is not None:
        defaults["group"] = group
    enrollment, _ = Enrollment.objects.update_or_create(course=course, student=student, defaults=defaults)
    return enrollment


def course_role(user: AbstractBaseUser | AnonymousUser, course: Course) -> str | None:
    student = student_of(user)
    if student is None:
        return None
    return Enrollment.objects.filter(course=course, student=student).values_list("role", flat=True).first()


def is_enrolled_staff(user: AbstractBaseUser | AnonymousUser, course: Course) -> bool:
    """An instructor or TA of the course by enrollment (an LMS role, a roster), not by the staff field."""
    return course_role(user, course) in (Role.TA, Role.INSTRUCTOR)


def user_for_external(identity: ExternalIdentity) -> User:
    """The Django user of an LMS identity that needs the dashboard or the grading server (an
    instructor or TA launched from the LMS): made at the first need, with no usable password (they
    never log in here with one), and linked to the identity for good."""
    if identity.user_id is not None:
        return identity.user  # type: ignore[return-value]
    base = identity.student.name
    username, n = base, 1
    while User.objects.filter(username=username).exists():
        n += 1
        username = f"{base}-{n}"
    first, _, last = identity.name.partition(" ")
    user = User(username=username, email=identity.email, first_name=first[:150], last_name=last[:150])
    user.set_unusable_password()
    user.save()
    if not ExternalIdentity.objects.filter(pk=identity.pk, user__isnull=True).update(user=user):
        user.delete()  # a concurrent launch linked its own first
    identity.refresh_from_db()
    return identity.user  # type: ignore[return-value]
