"""A course's pool policy (how many warm servers, and when), and one row per warm server.

A slot is a Container row like any student's, whose Student row is a platform identity,
`_pool-<token>` (nbhosting/names.py: outside the student grammar, so no link can name it), with its
own uid, workspace and secret. A claim hands that container, and its uid, to a new student
(nbhosting/pool/claim.py); the Slot row stays, CLAIMED, as the record of it.
"""
from django.core.validators import MaxValueValidator
from django.db import models

from nbhosting.containers.models import Container
from nbhosting.courses.models import Course


class Policy(models.Model):
    course = models.OneToOneField(Course, on_delete=models.CASCADE, related_name="pool_policy")
    size = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(500)])
    # "HH:MM-HH:MM" in the site's time zone (NBH_TIME_ZONE); empty: all day.
    hours = models.CharField(max_length=11, blank=True)
    # Week days, e.g. "mon-fri" or "mon,wed,fri"; empty: every day.
    days = models.CharField(max_length=40, blank=True)

    def __str__(self) -> str:
        return f"{self.course.name}: {self.size} warm, {self.hours or 'all day'}, {self.days or 'every day'}"


class Slot(models.Model):
    class State(models.TextChoices):
        FREE = "free"  # waiting for a new student (its server may be starting, running or stopped)
        RETIRING = "retiring"  # being removed (beyond the pool's size); nobody can claim it any more
        CLAIMED = "claimed"  # its container and uid are a student's now

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="pool_slots")
    container = models.OneToOneField(Container, on_delete=models.CASCADE, related_name="pool_slot")
    state = models.CharField(max_length=10, choices=State.choices, default=State.FREE)
    created = models.DateTimeField(auto_now_add=True)
    claimed = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True, help_text="the student who took it")

    class Meta:
        indexes = [models.Index(fields=["course", "state"])]

    def __str__(self) -> str:
        return f"{self.container.name} {self.state}"
