from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest

from nbhosting.accounts import throttle


def client_address(request: HttpRequest | None) -> str:
    """nginx is gunicorn's only client and sets X-Real-IP itself."""
    if request is None:
        return ""
    return request.headers.get("X-Real-Ip") or request.META.get("REMOTE_ADDR") or ""


class ThrottledAuthenticationForm(AuthenticationForm):
    """Django's login form, refusing to even check a password once the throttle says so."""

    def clean(self) -> dict:
        username = self.cleaned_data.get("username") or ""
        address = client_address(self.request)
        wait = throttle.seconds_refused(username, address)
        if wait:
            minutes = (wait + 59) // 60
            raise forms.ValidationError(
                f"Too many failed logins. Try again in {minutes} minute{'s' if minutes > 1 else ''}.",
                code="throttled")
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            throttle.record_failure(username, address)
            raise
        throttle.record_success(username)
        return cleaned
