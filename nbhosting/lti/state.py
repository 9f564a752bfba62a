"""The OIDC state of an LTI 1.3 login, kept on the server: in a cross-site iframe the browser
drops the cookie that the usual state check relies on.

At login we keep a `LaunchState` row and send the platform `state = <key>.<mac>`, where the mac is
an HMAC (keyed by the site's secret) over the key and the nonce we ask the platform to sign into
the id_token. The launch must bring back a state whose row exists, is unused and younger than
STATE_TTL, whose mac matches the nonce inside the id_token (checked after its signature), and the
row is consumed by that one launch.

Where the platform offers LTI client-side storage (`lti_storage_target`), we also put a random
secret in the platform's own frame at login (postMessage) and the launch page reads it back from
there: only the browser that started the login has it, so the launch is bound to that browser.
Without it, nothing binds the launch to the browser that started the login (see the README).
"""
import hashlib
import hmac
import secrets
from datetime import timedelta

from django.utils import timezone
from django.utils.crypto import salted_hmac
from pylti1p3.exception import LtiException

from nbhosting.lti.models import LaunchState, Platform

STATE_TTL = timedelta(minutes=5)
SALT = "nbhosting.lti.state"
PREFIX = "state-"  # pylti1p3 puts it before the value we give it


def _mac(key: str, nonce: str) -> str:
    return salted_hmac(SALT, f"{key}\n{nonce}", algorithm="sha256").hexdigest()


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_nonce() -> str:
    return secrets.token_urlsafe(32)


def new_state(nonce: str) -> tuple[str, str]:
    """(key, state without PREFIX): the state names the row to be, and is bound to the nonce."""
    key = secrets.token_urlsafe(24)
    return key, f"{key}.{_mac(key, nonce)}"


def save(key: str, platform: Platform, nonce: str, storage_target: str = "", address: str = "") -> str | None:
    """Keeps the login's row; returns the secret to put in the platform's storage, if any."""
    now = timezone.now()
    LaunchState.objects.filter(expires__lt=now - STATE_TTL).delete()  # the old ones, in passing
    secret = secrets.token_urlsafe(32) if storage_target else None
    LaunchState.objects.create(key=key, platform=platform, nonce=nonce, storage_target=storage_target,
                               storage_digest=_digest(secret) if secret else "", address=address[:45],
                               expires=now + STATE_TTL)
    return secret


def pending(state: str) -> LaunchState:
    """The unused, unexpired row a launch's state names; raises LtiException otherwise."""
    key, _, mac = (state or "").removeprefix(PREFIX).partition(".")
    row = LaunchState.objects.filter(key=key, used__isnull=True, expires__gt=timezone.now()).first() if mac else None
    if row is None:
        raise LtiException("unknown, expired or already used state: start the launch again from the LMS")
    return row


def check(row: LaunchState, state: str, nonce: str, storage_value: str | None) -> None:
    """The id_token's nonce is the one this login asked for; the browser's storage agrees."""
    mac = state.partition(".")[2]
    if not (hmac.compare_digest(mac, _mac(row.key, nonce or "")) and hmac.compare_digest(row.nonce, nonce or "")):
        raise LtiException("the id_token's nonce does not match the login's state")
    if row.storage_digest and not hmac.compare_digest(row.storage_digest, _digest(storage_value or "")):
        raise LtiException("this browser did not start this launch (client-side storage check failed)")


def consume(row: LaunchState) -> None:
    """Single use: of two launches with the same state, one wins and the other is refused."""
    now = timezone.now()
    if LaunchState.objects.filter(pk=row.pk, used__isnull=True, expires__gt=now).update(used=now) != 1:
        raise LtiException("this launch was already used")
