"""LTI registrations, and what launches leave behind.

A `Platform` is one LMS registration (LTI 1.3: issuer + client id) with its deployments and the
courses it may launch. A `LaunchState` is the OIDC login's state, kept server side because the
browser drops cookies in a cross-site iframe. A `StaffContext` is an admin's word that the
instructors and TAs of one LMS course (an LTI context) are staff of one of ours. A `Context` is
an LMS course that launched one of ours, with its grade (AGS) and roster (NRPS) service URLs;
`LineItem` and `ScorePush` record grade passback. `Consumer`, `OAuthNonce` and `Outcome` are their LTI 1.1 counterparts.
"""
from django.db import models

from nbhosting.accounts.models import ExternalIdentity
from nbhosting.courses.models import Course
from nbhosting.workspaces.models import Student


class Platform(models.Model):
    name = models.CharField(max_length=100, blank=True)
    issuer = models.CharField(max_length=255)
    client_id = models.CharField(max_length=255)
    auth_login_url = models.URLField(max_length=500, help_text="the platform's OIDC authorization endpoint")
    auth_token_url = models.URLField(max_length=500, help_text="the platform's OAuth2 token endpoint")
    auth_audience = models.CharField(max_length=500, blank=True, help_text="empty: the token URL")
    key_set_url = models.URLField(max_length=500, help_text="the platform's JWKS")
    # A launch may name only these courses: anything else is refused before anything is created.
    courses = models.ManyToManyField(Course, blank=True, related_name="lti_platforms")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "client_id"], name="one_registration")]

    def __str__(self) -> str:
        return f"{self.name or self.issuer} ({self.client_id})"


class Deployment(models.Model):
    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="deployments")
    deployment_id = models.CharField(max_length=255)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform", "deployment_id"], name="one_deployment")]


class LaunchState(models.Model):
    """One OIDC login, consumed by the one launch that completes it."""
    key = models.CharField(max_length=64, unique=True)
    platform = models.ForeignKey(Platform, on_delete=models.CASCADE)
    nonce = models.CharField(max_length=128)
    # LTI client-side storage: the platform frame that holds a secret, and the secret's digest.
    storage_target = models.CharField(max_length=100, blank=True)
    storage_digest = models.CharField(max_length=64, blank=True)
    address = models.CharField(max_length=45, blank=True)  # the client's, for the throttle (nbhosting.lti.throttle)
    expires = models.DateTimeField(db_index=True)
    used = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["address", "expires"], name="lti_launchstate_address")]


class Context(models.Model):
    """An LMS course (an LTI context) that launched one of our courses."""
    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="contexts")
    context_id = models.CharField(max_length=255)
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="lti_contexts")
    deployment_id = models.CharField(max_length=255)
    title = models.CharField(max_length=255, blank=True)
    lineitems_url = models.URLField(max_length=500, blank=True)
    ags_scopes = models.TextField(blank=True)
    memberships_url = models.URLField(max_length=500, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)  # when the LMS last said something new of it

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform", "context_id", "course"], name="one_context")]

    def __str__(self) -> str:
        return f"{self.platform} {self.title or self.context_id} → {self.course.name}"


class StaffContext(models.Model):
    """An admin's mapping of an LMS context (LTI 1.3 platform or LTI 1.1 consumer, and context id)
    to one of our courses: the context's Instructors and TAs become that course's staff. A teacher
    launching from any other context of the same LMS gets a learner's view."""
    platform = models.ForeignKey(Platform, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="staff_contexts")
    consumer = models.ForeignKey("Consumer", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="staff_contexts")
    context_id = models.CharField(max_length=255)
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="lti_staff_contexts")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=(models.Q(platform__isnull=False, consumer__isnull=True)
                                             | models.Q(platform__isnull=True, consumer__isnull=False)),
                                   name="staff_context_of_one_lms"),
            models.UniqueConstraint(fields=["platform", "context_id", "course"], name="one_staff_context_13",
                                    condition=models.Q(platform__isnull=False)),
            models.UniqueConstraint(fields=["consumer", "context_id", "course"], name="one_staff_context_11",
                                    condition=models.Q(consumer__isnull=False)),
        ]

    @property
    def lms(self) -> str:
        return str(self.platform) if self.platform_id else f"LTI 1.1 {self.consumer}"

    def __str__(self) -> str:
        return f"{self.lms} context {self.context_id} → {self.course.name}"


class Member(models.Model):
    """Someone who launched from a context: whose LMS user id grades are sent for."""
    context = models.ForeignKey(Context, on_delete=models.CASCADE, related_name="members")
    identity = models.ForeignKey(ExternalIdentity, on_delete=models.CASCADE, related_name="lti_memberships")
    role = models.CharField(max_length=12)
    first_launch = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["context", "identity"], name="one_member")]


class LineItem(models.Model):
    """The LMS gradebook column of one nbgrader assignment, created at its first push."""
    context = models.ForeignKey(Context, on_delete=models.CASCADE, related_name="lineitems")
    assignment = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    score_maximum = models.FloatField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["context", "assignment"], name="one_lineitem")]


class ScorePush(models.Model):
    """What was sent to an LMS for one student and assignment, when, and how it went."""
    class Status(models.TextChoices):
        SENT = "sent"
        FAILED = "failed"

    context = models.ForeignKey(Context, null=True, blank=True, on_delete=models.CASCADE, related_name="pushes")
    outcome = models.ForeignKey("Outcome", null=True, blank=True, on_delete=models.CASCADE, related_name="pushes")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="score_pushes")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="score_pushes")
    assignment = models.CharField(max_length=100)
    score = models.FloatField()
    maximum = models.FloatField()
    status = models.CharField(max_length=8, choices=Status.choices)
    attempts = models.PositiveSmallIntegerField(default=1)
    error = models.TextField(blank=True)
    sent_at = models.DateTimeField(auto_now_add=True, db_index=True)


# --- LTI 1.1 --------------------------------------------------------------------------------------
class Consumer(models.Model):
    """An LTI 1.1 tool consumer: an OAuth 1.0a key and secret, and the courses it may launch."""
    key = models.CharField(max_length=100, unique=True)
    secret = models.CharField(max_length=100)
    name = models.CharField(max_length=100, blank=True)
    courses = models.ManyToManyField(Course, blank=True, related_name="lti11_consumers")
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name or self.key


class OAuthNonce(models.Model):
    """A nonce seen within the timestamp window: the same one again is a replay."""
    consumer = models.ForeignKey(Consumer, on_delete=models.CASCADE)
    nonce = models.CharField(max_length=100)
    timestamp = models.PositiveBigIntegerField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["consumer", "nonce", "timestamp"], name="one_nonce")]


class Outcome(models.Model):
    """Where a student's LTI 1.1 grade goes (Basic Outcomes): one per resource link."""
    consumer = models.ForeignKey(Consumer, on_delete=models.CASCADE, related_name="outcomes")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="lti11_outcomes")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="lti11_outcomes")
    assignment = models.CharField(max_length=100, blank=True)
    service_url = models.URLField(max_length=500)
    sourcedid = models.CharField(max_length=500)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["consumer", "course", "student", "assignment"],
                                               name="one_outcome")]
