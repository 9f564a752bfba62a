"""What the monitor records: one row per cycle with the host's figures and the totals, one row per
course and cycle, and one row for every container it (or a person) stopped or removed, with why."""
from django.db import models


class Cycle(models.Model):
    time = models.DateTimeField(db_index=True)
    seconds = models.FloatField(help_text="the cycle's wall time")
    running = models.PositiveIntegerField(help_text="running containers")
    stopped = models.PositiveIntegerField(help_text="stopped containers kept for a quick resume")
    kernels = models.PositiveIntegerField()
    busy_kernels = models.PositiveIntegerField()
    workspaces = models.PositiveIntegerField()
    load1 = models.FloatField(help_text="host load average over one minute")
    memory_used = models.BigIntegerField(help_text="bytes")
    memory_total = models.BigIntegerField(help_text="bytes")
    disk_used = models.BigIntegerField(help_text="bytes, on the data root's file system")
    disk_total = models.BigIntegerField(help_text="bytes")
    culled = models.PositiveIntegerField(help_text="containers stopped or removed in this cycle")
    errors = models.PositiveIntegerField(help_text="containers this cycle could not handle")


class CourseCount(models.Model):
    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="courses")
    course = models.CharField(max_length=40)
    running = models.PositiveIntegerField()
    stopped = models.PositiveIntegerField()
    kernels = models.PositiveIntegerField()
    busy_kernels = models.PositiveIntegerField()
    workspaces = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["course", "cycle"])]


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
