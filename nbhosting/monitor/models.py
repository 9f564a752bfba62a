"""What the monitor records: one row per cycle, and one row for every container it (or a person)
stopped or removed, with why. Its usage counts go to stats.UsageSample, which the staff plot."""
from django.db import models


class Cycle(models.Model):
    """The monitor's own record of a cycle; the usage counts it took are stats.UsageSample rows."""

    time = models.DateTimeField(db_index=True)
    seconds = models.FloatField(help_text="the cycle's wall time")
    running = models.PositiveIntegerField(help_text="running containers")
    stopped = models.PositiveIntegerField(help_text="stopped containers kept for a quick resume")
    kernels = models.PositiveIntegerField()
    busy_kernels = models.PositiveIntegerField()
    culled = models.PositiveIntegerField(help_text="containers stopped or removed in this cycle")
    errors = models.PositiveIntegerField(help_text="containers this cycle could not handle")


class Cull(models.Model):
    class Action(models.TextChoices):
        STOPPED = "stopped"
        REMOVED = "removed"
        MARKED = "marked"  # podman changed behind our back; the database was brought in line

    time = models.DateTimeField(auto_now_add=True, db_index=True)
    container = models.CharField(max_length=120, db_index=True)
    course = models.CharField(max_length=40, blank=True)
    student = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=10, choices=Action.choices)
    reason = models.CharField(max_length=300)
    # Seconds the server had been idle when it was stopped for idleness, for the "stopped" page.
    idle_seconds = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.action} {self.container}: {self.reason}"
