"""The platform's record of each (course, student) container, and the lease that serialises its start."""
import secrets
from pathlib import Path

from django.conf import settings
from django.db import models

from nbhosting.courses.models import Course
from nbhosting.workspaces.models import Student


def new_secret() -> str:
    # The capability in the server's URL (/c/<secret>/): 256 bits, URL-safe, 43 characters.
    return secrets.token_urlsafe(32)


class Container(models.Model):
    class State(models.TextChoices):
        ABSENT = "absent"  # no podman container (never created, or removed)
        RUNNING = "running"
        STOPPED = "stopped"

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="containers")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="containers")
    name = models.CharField(max_length=120, unique=True)
    secret = models.CharField(max_length=64, unique=True, default=new_secret)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ABSENT)
    image = models.CharField(max_length=80, blank=True, help_text="image id the container runs")
    created = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    last_open = models.DateTimeField(null=True, blank=True)
    # The lease: whoever holds it may create, start or stop this container. A database row, so
    # it holds across gunicorn workers. It names its holder process (lease.holder()), so that a
    # worker killed mid-start is taken over at once, and it expires, the backstop across hosts.
    lease_owner = models.CharField(max_length=200, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["course", "student"], name="one_container_per_pair")]

    def __str__(self) -> str:
        return self.name

    @property
    def server_dir(self) -> Path:
        # Root's small tmpfs for this server's socket folder and root's hard link of its socket
        # (containers/server_files.py).
        return settings.DATA_ROOT / "run" / "servers" / self.name

    @property
    def socket_dir(self) -> Path:
        # The student's, mounted read-write in the container: never connect through it.
        return self.server_dir / "sock"

    @property
    def socket(self) -> Path:
        return self.socket_dir / "jupyter.sock"

    @property
    def config_dir(self) -> Path:
        # Root's, mounted read-only in the container.
        return settings.DATA_ROOT / "run" / "config" / self.name

    @property
    def link(self) -> Path:
        # nginx maps /c/<secret>/ to this link to root's hard link of the server's socket, in
        # root's folder that only nginx's group can read; the platform reaches the server by it too.
        return settings.DATA_ROOT / "run" / "links" / f"{self.secret}.sock"

    @property
    def base_url(self) -> str:
        return f"/c/{self.secret}/"
