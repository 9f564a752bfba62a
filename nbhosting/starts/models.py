"""One row per open that had to wait for a server: its place in the queue, its slot while it
starts, and the token that its progress page polls with."""
import secrets

from django.db import models

from nbhosting.containers.models import Container


def new_token() -> str:
    # A capability of its own, 256 bits: it tells the server's URL once the server is ready.
    return secrets.token_urlsafe(32)


class Start(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued"
        STARTING = "starting"  # holds a slot; a worker's thread runs the start
        READY = "ready"
        FAILED = "failed"
        ABANDONED = "abandoned"  # nobody polled: dropped from the queue, or stopped once ready

    token = models.CharField(max_length=64, unique=True, default=new_token)
    container = models.ForeignKey(Container, on_delete=models.CASCADE, related_name="starts")
    # Where the server sends the student once ready: the page inside the server, and the open's
    # record (what the workspace did, which notebook) for the statistics.
    page = models.CharField(max_length=1024)
    notebook = models.CharField(max_length=1024, blank=True)
    action = models.CharField(max_length=16, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    # Unique among rows that hold one (NULLs never collide): the bound holds across processes
    # and on SQLite and PostgreSQL alike, whoever claims first.
    slot = models.PositiveSmallIntegerField(null=True, blank=True, unique=True)
    worker = models.CharField(max_length=200, blank=True)  # lease.holder() of the dispatcher's process
    heartbeat = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    polled = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    delivered = models.DateTimeField(null=True, blank=True)
    cold = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    # A start that no student asked for (starts/prewarm.py): nobody polls it, so it is neither
    # dropped nor stopped for that; it is no open in the statistics; opens go before it.
    prewarm = models.ForeignKey("Prewarm", null=True, blank=True, on_delete=models.SET_NULL, related_name="starts")

    class Meta:
        indexes = [models.Index(fields=["state", "id"])]

    def __str__(self) -> str:
        return f"{self.container.name} {self.state}"

    @property
    def url(self) -> str:
        return self.container.base_url + self.page


class Prewarm(models.Model):
    """Named students' servers started before a class (`nbh course-prewarm`): now, or by the
    monitor's cycle once `at` has come. The students are fixed when the plan is made."""
    class State(models.TextChoices):
        PENDING = "pending"  # waits for `at`
        RUNNING = "running"  # its starts are queued or under way
        DONE = "done"
        CANCELLED = "cancelled"

    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="prewarms")
    students = models.JSONField(default=list)  # names
    group = models.CharField(max_length=64, blank=True)  # what it was asked for, for people
    at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    created = models.DateTimeField(auto_now_add=True)
    ran = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    report = models.TextField(blank=True)  # started, failed, running already

    class Meta:
        indexes = [models.Index(fields=["state", "at"])]

    def __str__(self) -> str:
        return f"prewarm {self.pk} of {self.course.name} at {self.at:%Y-%m-%d %H:%M} ({self.state})"
