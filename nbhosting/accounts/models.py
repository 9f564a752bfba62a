"""Who people are to the platform, whichever door they came in by, and what they are in each course.

Every person who runs notebooks is a `Student` (workspaces.models): a name and a uid. A person may
also be known as
- an `Account`: a Django user who logs in at the platform's own address (the classroom front door);
- an `ExternalIdentity`: a subject of an outside issuer (an LTI platform), who never types a password.
Both doors lead to the same Student machinery, and an `Enrollment` says what that Student is in a
course (learner, TA, instructor) and in which group. Roles given by an LMS or a roster live here,
never in the free-text staff field that course staff can edit.
"""
from django.contrib.auth.models import User
from django.db import models

from nbhosting.courses.models import Course
from nbhosting.workspaces.models import Student


class Account(models.Model):
    """A person who logs in here; their notebooks run as `student`."""
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="nbh_account")
    student = models.OneToOneField(Student, on_delete=models.PROTECT, related_name="account")

    def __str__(self) -> str:
        return f"{self.user.username} → {self.student.name}"


class ExternalIdentity(models.Model):
    """A subject of an outside issuer (an LTI platform's `iss`, with its `sub`). Stable across
    launches, never derived from an email; `user` exists only once the person needs the dashboard."""
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    student = models.OneToOneField(Student, on_delete=models.PROTECT, related_name="external_identity")
    user = models.OneToOneField(User, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="nbh_external_identity")
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="one_identity_per_subject")]

    def __str__(self) -> str:
        return f"{self.issuer} {self.subject} → {self.student.name}"


class Enrollment(models.Model):
    class Role(models.TextChoices):
        LEARNER = "learner"
        TA = "ta"
        INSTRUCTOR = "instructor"

    class Source(models.TextChoices):
        ROSTER = "roster"  # nbh student-register
        SIGNUP = "signup"  # self sign-up with the course's enrollment key
        LTI = "lti"  # an LMS launch
        ADMIN = "admin"  # set by hand

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="enrollments")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="enrollments")
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.LEARNER)
    group = models.CharField(max_length=64, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.ADMIN)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["course", "student"], name="one_enrollment_per_pair")]
        indexes = [models.Index(fields=["course", "group"])]

    def __str__(self) -> str:
        return f"{self.student.name} in {self.course.name} ({self.role})"

    @property
    def is_staff(self) -> bool:
        return self.role in (self.Role.TA, self.Role.INSTRUCTOR)


class FailedLogin(models.Model):
    """One refused password, kept for the throttle (accounts.throttle) and then forgotten."""
    username = models.CharField(max_length=150, db_index=True)
    address = models.CharField(max_length=45, db_index=True)
    time = models.DateTimeField(auto_now_add=True, db_index=True)


class EnrollmentKey(models.Model):
    """A course's key for self sign-up: whoever has it may make an account and enroll as a learner
    (in `group`). No row, no sign-up: students come from rosters and LMS launches only."""
    course = models.OneToOneField(Course, on_delete=models.CASCADE, related_name="enrollment_key")
    key = models.CharField(max_length=128)
    group = models.CharField(max_length=64, blank=True)
    created = models.DateTimeField(auto_now_add=True)
