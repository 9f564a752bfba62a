"""A per-(course, student) lock that holds across gunicorn workers and survives their crashes.

It is a lease on the Container row: one conditional UPDATE claims it (atomic in SQLite and
PostgreSQL alike), and it expires, so a worker killed mid-spawn cannot block the student forever.
"""
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from nbhosting.containers.models import Container


class LeaseTimeout(RuntimeError):
    pass


def lease_seconds() -> float:
    return settings.NBH_SPAWN_TIMEOUT + 60


def _claim(container: Container, token: str) -> bool:
    now = timezone.now()
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    until = now + timedelta(seconds=lease_seconds())
    return Container.objects.filter(free, pk=container.pk).update(lease_owner=token, lease_until=until) == 1


@contextmanager
def lease(container: Container, wait: float | None = None) -> Iterator[None]:
    """Holds the pair's lease for the block; waits for it up to `wait` seconds (default: a
    whole spawn's worth, since the holder is usually starting this very container)."""
    token = uuid.uuid4().hex
    deadline = time.monotonic() + (lease_seconds() if wait is None else wait)
    while not _claim(container, token):
        if time.monotonic() > deadline:
            raise LeaseTimeout(f"{container.name} is busy; try again in a moment")
        time.sleep(0.1)
    try:
        yield
    finally:
        Container.objects.filter(pk=container.pk, lease_owner=token).update(lease_owner="", lease_until=None)
