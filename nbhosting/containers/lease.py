"""A per-(course, student) lock that holds across gunicorn workers and survives their crashes.

It is a lease on the Container row: one conditional UPDATE claims it (atomic in SQLite and
PostgreSQL alike). The row names its holder: this host (its name, boot and pid namespace), the
process's pid and that process's start time. A worker killed mid-start cannot release its lease,
so a waiter on the same host takes over, at once, a lease whose holder process is gone (or whose
pid now belongs to another process). The lease also expires: the backstop for a holder on another
host, whose processes this one cannot see.
"""
import logging
import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import cache

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from nbhosting.containers.models import Container

log = logging.getLogger(__name__)
SEPARATOR = "|"


class LeaseTimeout(RuntimeError):
    pass


def lease_seconds() -> float:
    return settings.NBH_SPAWN_TIMEOUT + 60


@cache
def _host() -> str:
    """This host as its processes see it: name, boot, and pid namespace (pids are per namespace)."""
    with open("/proc/sys/kernel/random/boot_id") as boot:
        boot_id = boot.read().strip()
    return f"{socket.gethostname()}:{boot_id}:{os.stat('/proc/self/ns/pid').st_ino}"


def start_time(pid: int) -> str | None:
    """The process's start time (clock ticks since boot), None when there is no such process.
    With the pid, it names one process for good: a pid reused later has another start time."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()  # after the command name, which may hold spaces
    except (OSError, IndexError):
        return None
    return fields[19].decode()  # field 22 of proc(5); fields[0] is field 3


def holder(pid: int | None = None) -> str:
    """A token naming this process (or `pid`) as the lease's holder, unique to each claim."""
    pid = os.getpid() if pid is None else pid
    return SEPARATOR.join((_host(), str(pid), start_time(pid) or "?", uuid.uuid4().hex[:12]))


def holder_is_gone(owner: str) -> bool:
    """True only when we can tell: the holder ran on this host and its process no longer exists.
    A holder elsewhere, or a token of an older version, is never declared gone (expiry decides)."""
    parts = owner.rsplit(SEPARATOR, 3)
    if len(parts) != 4 or parts[0] != _host() or not parts[1].isdigit():
        return False
    return start_time(int(parts[1])) != parts[2]


def _until() -> datetime:
    return timezone.now() + timedelta(seconds=lease_seconds())


def _claim(container: Container, token: str) -> bool:
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=timezone.now())
    return Container.objects.filter(free, pk=container.pk).update(lease_owner=token, lease_until=_until()) == 1


def _take_over(container: Container, token: str) -> bool:
    """Claims a lease whose holder process is gone; the UPDATE names that holder, so that of two
    waiters only one wins."""
    owner = Container.objects.filter(pk=container.pk).values_list("lease_owner", flat=True).first()
    if not owner or not holder_is_gone(owner):
        return False
    taken = Container.objects.filter(pk=container.pk, lease_owner=owner).update(
        lease_owner=token, lease_until=_until()) == 1
    if taken:
        log.warning("%s: took over the lease of %s, whose process is gone", container.name, owner)
    return taken


def free_if_gone(container: Container) -> bool:
    """Frees a lease whose holder process is gone, for one who does not wait for the lease (the
    monitor's cycle) and would otherwise leave the pair alone until it expires. The UPDATE names
    that holder: a claim made meanwhile is kept."""
    owner = container.lease_owner
    if not owner or not holder_is_gone(owner):
        return False
    freed = Container.objects.filter(pk=container.pk, lease_owner=owner).update(
        lease_owner="", lease_until=None) == 1
    if freed:
        log.warning("%s: freed the lease of %s, whose process is gone", container.name, owner)
    return freed


@contextmanager
def lease(container: Container, wait: float | None = None) -> Iterator[None]:
    """Holds the pair's lease for the block; waits for it up to `wait` seconds (default: a
    whole spawn's worth, since the holder is usually starting this very container)."""
    token = holder()
    deadline = time.monotonic() + (lease_seconds() if wait is None else wait)
    while not (_claim(container, token) or _take_over(container, token)):
        if time.monotonic() > deadline:
            raise LeaseTimeout(f"{container.name} is busy; try again in a moment")
        time.sleep(0.1)
    try:
        yield
    finally:
        Container.objects.filter(pk=container.pk, lease_owner=token).update(lease_owner="", lease_until=None)
