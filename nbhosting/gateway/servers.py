"""A student's own server, reached with its secret: the page shown when it is stopped, the link
that starts it again, and "stop my server". The secret is the whole capability, as for /c/<secret>/:
without it nothing here starts, stops or even names a server."""
import logging
import re
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from nbhosting.containers import lifecycle
from nbhosting.containers.backend import BackendError
from nbhosting.containers.lifecycle import LeaseTimeout, SpawnError, ensure_running
from nbhosting.containers.models import Container
from nbhosting.gateway.pages import error_page, framable, message_page
from nbhosting.monitor.policy import minutes

log = logging.getLogger(__name__)
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
# Pages a person looks at; anything else (API calls, static files) comes back to the file list.
PAGES = ("notebooks/", "tree", "edit/", "lab", "terminals/")
HOME_PAGE = "tree"


def find(secret: str) -> Container | None:
    if not SECRET_RE.match(secret):
        return None
    return Container.objects.filter(secret=secret).select_related("course", "student").first()


def page_path(rest: str) -> str:
    """The path inside the server to come back to: the same page, if it is one."""
    path = rest.lstrip("/")
    segments = path.split("/")
    if not path.startswith(PAGES) or any(s in (".", "..") for s in segments):
        return HOME_PAGE
    return path


def restart_link(record: Container, rest: str) -> str:
    return f"/restart/{record.secret}/{quote(page_path(rest), safe='/')}"


def stopped_message(record: Container) -> str:
    cull = lifecycle.last_stop(record)
    if cull is not None and cull.idle_seconds is not None:
        why = f"Your notebook server was stopped after {minutes(cull.idle_seconds)} without activity, " \
              "to give its memory to others."
    else:
        why = "Your notebook server is not running."
    return f"{why}\nYour files are safe. Reopen it to carry on where you left off."


def gone(request: HttpRequest, secret: str, rest: str = "") -> HttpResponse:
    """nginx sends /c/... here when no server answers on that URL's socket."""
    record = find(secret)
    if record is None:
        return error_page(request, 404, "Not found", "There is no notebook server at this address.")
    return message_page(request, 503, "Your notebook server is stopped", stopped_message(record),
                  link=restart_link(record, rest or ""), link_text="Reopen my notebook")


@require_http_methods(["GET"])
def restart(request: HttpRequest, secret: str, rest: str = "") -> HttpResponse:
    """Starts the server again (or finds it running) and goes back to the same page."""
    record = find(secret)
    if record is None:
        return error_page(request, 404, "Not found", "There is no notebook server at this address.")
    try:
        ensure_running(record.course, record.student)
    except (SpawnError, LeaseTimeout) as exc:
        log.error("restart of %s failed: %s", record.name, exc)
        return error_page(request, 503, "Your notebook server could not start",
                          "Your files are safe. Please try again in a minute.")
    Container.objects.filter(pk=record.pk).update(last_open=timezone.now())
    return framable(HttpResponseRedirect(record.base_url + quote(page_path(rest or ""), safe="/")))


@csrf_exempt  # the secret in the URL is the capability; an LMS iframe blocks the CSRF cookie
@require_http_methods(["GET", "POST"])
def stop(request: HttpRequest, secret: str) -> HttpResponse:
    """GET asks for confirmation, POST stops: a prefetched link must not stop anybody's work."""
    record = find(secret)
    if record is None:
        return error_page(request, 404, "Not found", "There is no notebook server at this address.")
    if request.method == "GET":
        return message_page(request, 200, "Stop my notebook server?",
                      "Running cells stop and unsaved changes are lost; saved files are safe. "
                      "You can reopen your notebook at any time.",
                      form_action=f"/stop/{record.secret}/", button="Stop my server")
    try:
        lifecycle.stop(record, "stopped by the student", wait=lifecycle.STAFF_WAIT)
    except BackendError as exc:
        log.error("stop of %s failed: %s", record.name, exc)
    record.refresh_from_db()
    if record.state == Container.State.RUNNING:
        return error_page(request, 503, "Your notebook server could not be stopped",
                          "It is busy starting or stopping. Please try again in a minute.")
    return message_page(request, 200, "Your notebook server is stopped",
                  "Your files are safe. Reopen it whenever you like.",
                  link=restart_link(record, HOME_PAGE), link_text="Reopen my notebooks")
