"""Floods of LTI logins and launches, refused per client address with a readable 429 page.

Anyone may call the login initiation (each keeps a LaunchState row for 5 minutes) and post
launches (each costs a signature check, and the platform's JWKS when its cache is cold). So:
- a login is refused while its address has NBH_LTI_MAX_PENDING_PER_ADDRESS logins that no launch
  completed yet: a classroom behind one address completes its logins within seconds, a flood
  leaves them all pending;
- a launch (LTI 1.3 or 1.1), and a login, are refused while their address had
  NBH_LTI_MAX_FAILURES_PER_ADDRESS refused launches or logins within the login throttle's window
  (nbhosting.accounts.throttle, whose failure records these share).
Counted in the database, so that every gunicorn worker sees the same counts.
"""
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from nbhosting.accounts import throttle
from nbhosting.accounts.forms import client_address
from nbhosting.gateway.pages import error_page
from nbhosting.lti.models import LaunchState

COUNTED_AS = "lti-launch"  # the FailedLogin rows of refused LTI launches and logins


def _too_many(request: HttpRequest, seconds: int, what: str) -> HttpResponse:
    minutes = (seconds + 59) // 60
    response = error_page(request, 429, "Too many LTI launches",
                          f"Too many {what} came from your network address. Please open the activity again "
                          f"from your LMS in {minutes} minute{'s' if minutes > 1 else ''}.")
    response["Retry-After"] = str(seconds)
    return response


def launch_refused(request: HttpRequest) -> HttpResponse | None:
    """A 429 page when this address's launches failed too often; None when it may try."""
    seconds = throttle.seconds_refused_at(COUNTED_AS, client_address(request),
                                          settings.NBH_LTI_MAX_FAILURES_PER_ADDRESS)
    return _too_many(request, seconds, "refused launches") if seconds else None


def login_refused(request: HttpRequest) -> HttpResponse | None:
    address = client_address(request)
    pending = LaunchState.objects.filter(address=address, used__isnull=True, expires__gt=timezone.now())
    if pending.count() >= settings.NBH_LTI_MAX_PENDING_PER_ADDRESS:
        oldest = pending.order_by("expires").values_list("expires", flat=True).first()
        seconds = max(1, int((oldest - timezone.now()).total_seconds())) if oldest else 1
        return _too_many(request, seconds, "unfinished launches")
    return launch_refused(request)


def record_failure(request: HttpRequest) -> None:
    throttle.record_failure(COUNTED_AS, client_address(request))
