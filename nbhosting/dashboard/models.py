"""Long course actions (git pull, image build), run by a detached `nbh run-job` process.

The web worker only creates the row and starts the process; the page polls the job's JSON for
its state and log, and the log stays on disk afterwards.
"""
from pathlib import Path

from django.conf import settings
from django.db import models

from nbhosting.courses.models import Course


class Job(models.Model):
    class Kind(models.TextChoices):
        PULL = "pull"  # git pull; rebuilds the image too when the Containerfile changed and autobuild is set
        BUILD = "build"  # podman build, with its layer cache
        REBUILD = "rebuild"  # podman build --no-cache

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    requested_by = models.CharField(max_length=150, blank=True, help_text="a username, or 'autopull'")
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    summary = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [models.Index(fields=["course", "-created"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.course.name} #{self.pk}"

    @property
    def log_path(self) -> Path:
        return settings.DATA_ROOT / "logs" / "jobs" / f"{self.pk}.log"

    @property
    def active(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.RUNNING)
