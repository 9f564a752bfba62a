"""Usage events, kept in the database so that statistics are queries, not log parsing."""
from django.db import models


class OpenEvent(models.Model):
    """One student opening one notebook through the gateway."""

    class Action(models.TextChoices):
        CREATED = "created"  # first open: the notebook was copied
        EXISTING = "existing"  # the student's own copy was opened
        RESET = "reset"  # copied again, the student's version kept as a backup
        CLONED = "cloned"  # classroom mode: the workspace was cloned now

    time = models.DateTimeField(auto_now_add=True, db_index=True)
    course = models.CharField(max_length=40)
    student = models.CharField(max_length=64)
    notebook = models.CharField(max_length=1000)
    action = models.CharField(max_length=10, choices=Action.choices)
    cold = models.BooleanField(help_text="a container was started for this open")
    seconds = models.FloatField(help_text="from request to a Jupyter that answers")

    class Meta:
        indexes = [models.Index(fields=["course", "time"]), models.Index(fields=["course", "student"])]


def record_open(course: str, student: str, notebook: str, action: str, cold: bool, seconds: float) -> None:
    OpenEvent.objects.create(
        course=course, student=student, notebook=notebook, action=action, cold=cold, seconds=seconds
    )
