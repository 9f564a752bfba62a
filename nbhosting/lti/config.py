"""The tool's own URLs, as an LMS admin pastes them into the LMS (the tool configuration page,
`nbh lti-platform-add`'s output)."""
from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

ENDPOINTS = {
    "login": ("lti:login", "OIDC login initiation URL"),
    "launch": ("lti:launch", "Launch (target link) URL and redirect URL"),
    "deep_linking": ("lti:launch", "Deep linking (content selection) URL"),
    "jwks": ("lti:jwks", "Public keyset (JWKS) URL"),
    "lti11": ("lti:lti11-launch", "LTI 1.1 launch URL"),
}


def tool_url(name: str, request: HttpRequest | None = None) -> str:
    """An absolute URL of ours: NBH_PUBLIC_URL when set, else the host this request came to."""
    path = reverse(name)
    if settings.NBH_PUBLIC_URL:
        return settings.NBH_PUBLIC_URL.rstrip("/") + path
    if request is None:
        return path
    return request.build_absolute_uri(path)


def tool_urls(request: HttpRequest | None = None) -> list[tuple[str, str]]:
    return [(label, tool_url(name, request)) for name, label in ENDPOINTS.values()]
