"""Which courses use nbgrader, their submission size limit, and who teaches them."""
from django.conf import settings
from django.contrib.auth.models import User
from django.db import models

from nbhosting.courses.models import Course, validate_quota
from nbhosting.sizes import parse_size


def default_size_limit() -> int:
    return settings.NBH_SUBMISSION_LIMIT_KB


class NbgraderCourse(models.Model):
    course = models.OneToOneField(Course, on_delete=models.CASCADE, primary_key=True, related_name="nbgrader")
    # Off keeps every file of the exchange and the course directory; on again picks them up.
    enabled = models.BooleanField(default=False)
    size_limit_kb = models.PositiveIntegerField(
        default=default_size_limit, help_text="largest submission, in kilobytes (1000 bytes), as nbgrader counts"
    )
    # Each student's share of the exchange; empty: the site's NBH_EXCHANGE_QUOTA.
    exchange_quota = models.CharField(max_length=10, blank=True, validators=[validate_quota])
    instructors = models.ManyToManyField(User, blank=True, related_name="nbgrader_courses")
    # Students whose container row is newer than this are not in the gradebook yet.
    roster_synced_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.course.name} (nbgrader {'on' if self.enabled else 'off'})"

    @property
    def size_limit_bytes(self) -> int:
        return self.size_limit_kb * 1000

    @property
    def exchange_quota_bytes(self) -> int | None:
        """Each student's share of the exchange in bytes; None: unlimited."""
        return parse_size(self.exchange_quota or settings.NBH_EXCHANGE_QUOTA)

    def is_instructor(self, user: User) -> bool:
        return user.is_authenticated and self.instructors.filter(pk=user.pk).exists()


def nbgrader_of(course: Course) -> NbgraderCourse | None:
    """The course's nbgrader settings when nbgrader is on for it, else None."""
    return NbgraderCourse.objects.filter(course=course, enabled=True).first()
