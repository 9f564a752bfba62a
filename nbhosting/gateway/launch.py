"""Launch trust: may this request open this course's notebook as this student?

- legacy: the Open edX xblock's unsigned links; only from an exact allow-list of Referer hosts
  (a substring test would accept evil-lms.example.com.attacker.net), or from loopback in development.
- signed: an HMAC-SHA256 over the entry point, course, notebook, student and expiry with the
  course's own secret. The entry point is in it so that a link signed to copy a notebook does not
  open the course as a git clone of the student's workspace, nor the reverse.
"""
import hashlib
import hmac
import ipaddress
import time
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.http import HttpRequest

from nbhosting.courses.models import Course

DEFAULT_TTL = 3600
# The entry points a signature names (/ipythonExercice/ is the same as a notebook copy).
LAZY_COPY = "notebookLazyCopy"
GIT_REPO = "notebookGitRepo"


class LaunchRefused(PermissionError):
    pass


def signature(course: Course, entry: str, notebook: str, student: str, expires: int) -> str:
    message = "\n".join((entry, course.name, notebook, student, str(expires))).encode()
    return hmac.new(course.signing_secret.encode(), message, hashlib.sha256).hexdigest()


def signed_query(course: Course, entry: str, notebook: str, student: str, ttl: int = DEFAULT_TTL) -> str:
    expires = int(time.time()) + ttl
    return urlencode({"expires": expires, "signature": signature(course, entry, notebook, student, expires)})


def _client_is_loopback(request: HttpRequest) -> bool:
    # gunicorn listens on a unix socket that only nginx reaches; nginx sets X-Real-IP itself.
    address = request.headers.get("X-Real-Ip") or request.META.get("REMOTE_ADDR") or ""
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def check_legacy(request: HttpRequest, course: Course) -> None:
    if settings.NBH_DEV_LOOPBACK and _client_is_loopback(request):
        return
    host = urlsplit(request.headers.get("Referer", "")).hostname
    if not host:
        raise LaunchRefused("this link must be opened from the course's page (no Referer was sent)")
    if host not in course.allowed_referers():
        raise LaunchRefused(f"links to {course.name} are not accepted from {host}")


def check_signed(request: HttpRequest, course: Course, entry: str, notebook: str, student: str) -> None:
    expires, given = request.GET.get("expires", ""), request.GET.get("signature", "")
    if not expires.isdigit() or not given:
        raise LaunchRefused("this link is not signed; open it from the course's page")
    if int(expires) < time.time():
        raise LaunchRefused("this link has expired; open it again from the course's page")
    if not hmac.compare_digest(signature(course, entry, notebook, student, int(expires)), given):
        raise LaunchRefused("this link's signature is not valid")


def check(request: HttpRequest, course: Course, entry: str, notebook: str, student: str) -> None:
    if course.trust == Course.Trust.SIGNED:
        check_signed(request, course, entry, notebook, student)
    else:
        check_legacy(request, course)
