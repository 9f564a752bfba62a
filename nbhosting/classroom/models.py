"""The classroom front door's own records: how a course's pages open notebooks, the snapshots
students share, and the files staff dropped into every workspace."""
import secrets
from pathlib import Path

from django.conf import settings
from django.db import models

from nbhosting.courses.models import Course
from nbhosting.workspaces.models import Student


class Classroom(models.Model):
    """A course's settings for its classroom pages; a course without a row has the defaults."""

    class Mode(models.TextChoices):
        # The workspace is a clone of the course; the course's updates are merged in on open.
        GIT = "git"
        # Each notebook is copied on its first open (as LMS links do); a newer course version is offered.
        COPY = "copy"

    course = models.OneToOneField(Course, on_delete=models.CASCADE, primary_key=True, related_name="classroom")
    mode = models.CharField(max_length=4, choices=Mode.choices, default=Mode.GIT)


def mode_of(course: Course) -> str:
    return Classroom.objects.filter(course=course).values_list("mode", flat=True).first() or Classroom.Mode.GIT


def new_token() -> str:
    return secrets.token_urlsafe(32)  # 256 bits: the URL is the only credential


class Snapshot(models.Model):
    """A static, read-only rendering of one of a student's notebooks, readable by anyone with its
    URL until the student revokes it. The HTML is a file of the platform's, made when shared."""
    token = models.CharField(max_length=64, unique=True, default=new_token)
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="snapshots")
    path = models.CharField(max_length=1000, help_text="the notebook's path in the workspace")
    created = models.DateTimeField(auto_now_add=True)
    revoked = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["course", "student"])]

    @property
    def html_path(self) -> Path:
        return settings.DATA_ROOT / "snapshots" / f"{self.token}.html"


class DropFile(models.Model):
    """One version of a file that staff dropped into every workspace of a course. A student's file
    that still has one of these contents is the platform's to update; any other is the student's."""
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="+")
    path = models.CharField(max_length=1000)
    digest = models.CharField(max_length=64, help_text="sha256 of the content")
    size = models.BigIntegerField()
    by = models.CharField(max_length=150)
    time = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["course", "path"])]
