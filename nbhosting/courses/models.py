"""A course: a git repository of notebooks, the image its containers run, and how links are trusted."""
import secrets
from pathlib import Path

from django.conf import settings
from django.db import models

from nbhosting.names import validate_course


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

    def __str__(self) -> str:
        return self.name

    @property
    def repo_dir(self) -> Path:
        return settings.DATA_ROOT / "courses" / self.name / "repo"

    @property
    def workspaces_dir(self) -> Path:
        return settings.DATA_ROOT / "workspaces" / self.name

    @property
    def image_name(self) -> str:
        return self.image or settings.NBH_DEFAULT_IMAGE

    def allowed_referers(self) -> set[str]:
        return set(settings.NBH_LEGACY_REFERERS) | set(self.referers.split())
