"""Usage events, kept in the database so that statistics are queries, not log parsing."""
from datetime import date, datetime

from django.db import IntegrityError, models, transaction
from django.db.models import Count, F
from django.db.models.functions import TruncDate
from django.utils import timezone


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
        indexes = [
            # Covering indexes for the stats page: its group-bys read an index, never the table. Each
            # holds `student`, since the staff's own opens are filtered out by default. They also
            # serve every lookup by (course, time) or (course, student), which need no index of their own.
            models.Index(fields=["course", "time", "student", "notebook", "seconds", "cold"],
                         name="stats_open_course_ready"),
            models.Index(fields=["course", "student", "notebook", "time"], name="stats_open_per_student"),
            models.Index(fields=["course", "notebook", "student", "time"], name="stats_open_per_notebook"),
        ]


class DailyActivity(models.Model):
    """A rollup of OpenEvent: one row per student and day they opened anything in a course. The
    per-day figures count these rows (a few hundred thousand in a large course's year) instead of
    distinct students among a million events."""

    course = models.CharField(max_length=40)
    day = models.DateField(help_text="in the site's time zone")
    student = models.CharField(max_length=64)
    opens = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["course", "day", "student"], name="one_row_per_student_day")]
        indexes = [models.Index(fields=["course", "student", "day"], name="stats_daily_first_seen")]


def record_open(course: str, student: str, notebook: str, action: str, cold: bool, seconds: float) -> None:
    with transaction.atomic():
        OpenEvent.objects.create(
            course=course, student=student, notebook=notebook, action=action, cold=cold, seconds=seconds
        )
        count_daily(course, student, timezone.localdate())


def count_daily(course: str, student: str, day: date, opens: int = 1) -> None:
    same = DailyActivity.objects.filter(course=course, day=day, student=student)
    if same.update(opens=F("opens") + opens):
        return
    try:
        with transaction.atomic():
            DailyActivity.objects.create(course=course, day=day, student=student, opens=opens)
    except IntegrityError:  # a concurrent open of the same student created the row first
        same.update(opens=F("opens") + opens)


def rebuild_daily(course: str | None = None) -> int:
    """Recomputes the rollup from the events (after an import, or a time zone change)."""
    events = OpenEvent.objects.all() if course is None else OpenEvent.objects.filter(course=course)
    rows = events.annotate(day=TruncDate("time")).values("course", "day", "student").annotate(opens=Count("id"))
    with transaction.atomic():
        (DailyActivity.objects.all() if course is None else DailyActivity.objects.filter(course=course)).delete()
        created = DailyActivity.objects.bulk_create((DailyActivity(**row) for row in rows.iterator()), batch_size=5000)
    return len(created)


class UsageSample(models.Model):
    """Counts taken by the monitor at each cycle: one row for the whole site (course ''), one per course."""

    time = models.DateTimeField(default=timezone.now)
    course = models.CharField(max_length=40, blank=True, help_text="'' for the whole site")
    containers = models.PositiveIntegerField(default=0, help_text="running containers")
    kernels = models.PositiveIntegerField(default=0)
    busy_kernels = models.PositiveIntegerField(default=0)
    workspaces = models.PositiveIntegerField(default=0)
    # Host figures, on the site's row only.
    load1 = models.FloatField(null=True, blank=True)
    mem_free = models.BigIntegerField(null=True, blank=True, help_text="bytes")
    disk_free = models.BigIntegerField(null=True, blank=True, help_text="bytes, on the data root")

    class Meta:
        indexes = [models.Index(fields=["course", "time"])]


def record_sample(
    course: str = "", *, containers: int = 0, kernels: int = 0, busy_kernels: int = 0, workspaces: int = 0,
    load1: float | None = None, mem_free: int | None = None, disk_free: int | None = None,
    time: datetime | None = None,
) -> UsageSample:
    """What the monitor calls once per cycle: once with course='' and the host figures, once per course."""
    return UsageSample.objects.create(
        time=time or timezone.now(), course=course, containers=containers, kernels=kernels,
        busy_kernels=busy_kernels, workspaces=workspaces, load1=load1, mem_free=mem_free, disk_free=disk_free,
    )
