"""The progress page and its status URL. The token in the address is the only credential (no
cookie, no session: they are blocked in a cross-site LMS iframe); only an open that passed its
door's checks was given it, and the server's URL is told only once the server is ready."""
import re

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET

from nbhosting.gateway.pages import error_page, framable, message_page
from nbhosting.starts import queue, worker
from nbhosting.starts.models import Start

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
State = Start.State
FAILED_TITLE = "Your notebook server could not start"
FAILED_TEXT = ("Your files are safe. Try again with the button below; if it fails again, wait a minute "
               "and open the notebook again from your course. If it keeps failing, tell the course staff.")


def find(token: str) -> Start | None:
    if not TOKEN_RE.match(token):
        return None
    return Start.objects.filter(token=token).select_related("container").first()


def expired(request: HttpRequest) -> HttpResponse:
    return error_page(request, 404, "This page has expired",
                      "Open the notebook again from your course.")


def status_of(start: Start) -> dict:
    """What the page shows. The server's URL only when ready; taking it counts as the open."""
    if start.state in (State.FAILED, State.ABANDONED):
        if queue.requeue(start):  # someone is still waiting: it goes back to its place
            start.refresh_from_db()
    else:
        queue.mark_polled(start)
    worker.dispatcher()  # this process helps with the queue from now on
    answer = {"state": start.state, "elapsed": round((timezone.now() - start.created).total_seconds(), 1),
              "position": queue.position(start), "starting": queue.starting_count()}
    if start.state == State.READY:
        queue.deliver(start)
        answer["url"] = start.url
    return answer


def no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return framable(response)


@require_GET
def status(request: HttpRequest, token: str) -> HttpResponse:
    start = find(token)
    if start is None:
        return no_store(JsonResponse({"state": "unknown"}, status=404))
    if start.state == State.FAILED and not request.GET.get("retry"):
        # A failure stays on the page until the student asks again.
        return no_store(JsonResponse({"state": "failed", "title": FAILED_TITLE, "message": FAILED_TEXT}))
    return no_store(JsonResponse(status_of(start)))


@require_GET
def progress(request: HttpRequest, token: str) -> HttpResponse:
    """Ready: straight to the server. Failed: what to do. Otherwise the page that polls."""
    start = find(token)
    if start is None:
        return expired(request)
    if start.state == State.FAILED and not request.GET.get("retry"):
        return message_page(request, 503, FAILED_TITLE, FAILED_TEXT,
                            link=f"/starting/{token}/?retry=1", link_text="Try again")
    answer = status_of(start)
    if answer["state"] == State.READY:
        return no_store(HttpResponseRedirect(answer["url"]))
    html = render_to_string("starts/progress.html", {"status": answer}, request)
    return no_store(HttpResponse(html))

