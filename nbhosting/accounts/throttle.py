"""Throttling of repeated failed logins, for every login form of the platform (students and staff).

Counted in the database, so that all gunicorn workers see the same counts. A username that failed
too often is refused for a while whatever the password, and so is an address that failed on many
usernames; a success clears the username's count.
"""
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from nbhosting.accounts.models import FailedLogin


def window() -> timedelta:
    return timedelta(seconds=settings.NBH_LOGIN_THROTTLE_WINDOW)


def seconds_refused(username: str, address: str) -> int:
    """0 when a login may be tried; else how many seconds to wait."""
    since = timezone.now() - window()
    recent = FailedLogin.objects.filter(time__gte=since)
    for failures, limit in ((recent.filter(username=username.lower()), settings.NBH_LOGIN_MAX_FAILURES),
                            (recent.filter(address=address), settings.NBH_LOGIN_MAX_FAILURES_PER_ADDRESS)):
        times = list(failures.order_by("-time").values_list("time", flat=True)[:limit])
        if len(times) >= limit:
            return max(1, int((times[-1] + window() - timezone.now()).total_seconds()))
    return 0


def seconds_refused_at(counted_as: str, address: str, limit: int) -> int:
    """The same rule for failures that have no username (LTI launches): counted per address only,
    so that one flooding address never locks out the others."""
    since = timezone.now() - window()
    times = list(FailedLogin.objects.filter(time__gte=since, username=counted_as, address=address)
                 .order_by("-time").values_list("time", flat=True)[:limit])
    if len(times) >= limit:
        return max(1, int((times[-1] + window() - timezone.now()).total_seconds()))
    return 0


def record_failure(username: str, address: str) -> None:
    FailedLogin.objects.create(username=username.lower()[:150], address=address[:45])
    FailedLogin.objects.filter(time__lt=timezone.now() - 4 * window()).delete()


def record_success(username: str) -> None:
    FailedLogin.objects.filter(username=username.lower()).delete()
