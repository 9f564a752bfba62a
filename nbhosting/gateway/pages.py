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


def error_page(request: HttpRequest, status: int, title: str, message: str, link: str = "") -> HttpResponse:
    html = render_to_string("gateway/message.html", {"title": title, "message": message, "link": link}, request)
    return framable(HttpResponse(html, status=status))
