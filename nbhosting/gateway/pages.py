"""Readable pages for the gateway's answers, framable by the LMS that embeds the links."""
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string


def framable(response: HttpResponse) -> HttpResponse:
    """Lets the configured LMS sites frame this answer, and keeps URLs out of Referer headers."""
    response.xframe_options_exempt = True
    response["Content-Security-Policy"] = "frame-ancestors " + " ".join(settings.NBH_FRAME_ANCESTORS)
    response["Referrer-Policy"] = "no-referrer"
    return response


def message_page(request: HttpRequest, status: int, title: str, message: str, **extra: str) -> HttpResponse:
    """A page with a title, a message and optionally a link (link, link_text) or a one-button
    form (form_action, button)."""
    html = render_to_string("gateway/message.html", {"title": title, "message": message, **extra}, request)
    return framable(HttpResponse(html, status=status))


def error_page(request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
    return message_page(request, status, title, message)
