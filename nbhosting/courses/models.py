"""A course: a git repository of notebooks, the image its containers run, and how links are trusted."""
import re
import secrets
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from nbhosting.names import validate_course
from nbhosting.sizes import InvalidSize, parse_size

MEMORY_RE = re.compile(r"^[1-9][0-9]{0,5}[kmg]$")


def validate_memory(value: str) -> None:
    if value and not MEMORY_RE.match(value):
        raise ValidationError(f"{value!r} is not a memory size like 512m or 2g")


def validate_quota(value: str) -> None:
    try:
        parse_size(value)
    except InvalidSize as exc:
        raise ValidationError(str(exc)) from None


def new_signing_secret() -> str:
    return secrets.token_hex(32)


class Course(models.Model):
    class Trust(models.TextChoices):
        # Unsigned Open edX xblock links, accepted from allow-listed Referer hosts only.
        LEGACY = "legacy"
        # HMAC-signed links with an expiry, made by the LMS with the course's secret.
        SIGNED = "signed"

    name = models.CharField(max_length=40, unique=True, validators=[validate_course])
    git_url = models.CharField(max_length=500)
    branch = models.CharField(max_length=100, blank=True, help_text="empty: the remote's default")
    image = models.CharField(max_length=200, blank=True, help_text="empty: the site's default image")
    network = models.BooleanField(default=False, help_text="give containers a network")
    trust = models.CharField(max_length=10, choices=Trust.choices, default=Trust.SIGNED)
    signing_secret = models.CharField(max_length=64, default=new_signing_secret)
    referers = models.TextField(blank=True, help_text="extra Referer hosts for legacy links")
    created = models.DateTimeField(auto_now_add=True)
    pulled_at = models.DateTimeField(null=True, blank=True)
    commit = models.CharField(max_length=40, blank=True)
    # Who runs the course from the dashboard, besides the site admins.
    staff = models.TextField(
        blank=True, help_text="usernames, and groups written @group, separated by spaces or commas"
    )
    autopull = models.BooleanField(default=False, help_text="pull the repo every few minutes")
    autobuild = models.BooleanField(
        default=False, help_text="rebuild the course image when a pull changes its Containerfile"
    )
    archived = models.BooleanField(default=False, help_text="no autopull, hidden from the default list")
    # Per-course limits; empty means the site's default (NBH_MEMORY, NBH_CPUS, NBH_PIDS).
    memory = models.CharField(max_length=10, blank=True, validators=[validate_memory])
    cpus = models.FloatField(null=True, blank=True, validators=[MinValueValidator(0.1), MaxValueValidator(64)])
    pids = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(16)])
    # Each student's disk quota in this course; empty means the site's default (NBH_QUOTA).
    quota = models.CharField(max_length=10, blank=True, validators=[validate_quota])
    # The course's own image, built from the Containerfile in its repo.
    image_built_at = models.DateTimeField(null=True, blank=True)
    image_id = models.CharField(max_length=80, blank=True)

    def __str__(self) -> str:
        return self.name

    @property
    def repo_dir(self) -> Path:
        return settings.DATA_ROOT / "courses" / self.name / "repo"

    @property
    def workspaces_dir(self) -> Path:
        return settings.DATA_ROOT / "workspaces" / self.name

    @property
    def built_image_tag(self) -> str:
        # Image names are lower case; course names need not be.
        return f"localhost/nbhosting/course-{self.name.lower()}:latest"

    @property
    def image_name(self) -> str:
        """An explicit image wins; then the image built from the course's Containerfile."""
        if self.image:
            return self.image
        if self.image_built_at:
            return self.built_image_tag
        return settings.NBH_DEFAULT_IMAGE

    @property
    def memory_limit(self) -> str:
        return self.memory or settings.NBH_MEMORY

    @property
    def cpus_limit(self) -> float:
        return self.cpus or settings.NBH_CPUS

    @property
    def pids_limit(self) -> int:
        return self.pids or settings.NBH_PIDS

    @property
    def quota_bytes(self) -> int | None:
        """Each student's disk quota in bytes; None: unlimited."""
        return parse_size(self.quota or settings.NBH_QUOTA)

    def staff_entries(self) -> tuple[set[str], set[str]]:
        """(usernames, group names) of the course's own staff."""
        entries = set(self.staff.replace(",", " ").split())
        groups = {entry[1:] for entry in entries if entry.startswith("@")}
        return entries - {f"@{group}" for group in groups}, groups

    def allowed_referers(self) -> set[str]:
        return set(settings.NBH_LEGACY_REFERERS) | set(self.referers.split())
