from django import forms
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.contrib.auth.models import User
from django.http import HttpRequest

from nbhosting.accounts import throttle
from nbhosting.names import InvalidName, validate_student
from nbhosting.workspaces.models import Student


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


class EnrollmentKeyForm(forms.Form):
    key = forms.CharField(label="Enrollment key", max_length=128, widget=forms.PasswordInput(render_value=True))


class SignupForm(UserCreationForm):
    """A new student account: its username is also its student id, so the student grammar applies,
    and it may not take the id of a student who exists already (an LMS id, a roster's)."""
    name = forms.CharField(label="Full name", max_length=150, required=False)
    email = forms.EmailField(label="Email", required=False,
                             help_text="for a new password if you forget yours")
    key = forms.CharField(label="Enrollment key", max_length=128, widget=forms.PasswordInput(render_value=True))

    class Meta(UserCreationForm.Meta):
        fields = ("username",)

    def clean_username(self) -> str:
        username = super().clean_username()
        try:
            validate_student(username)
        except InvalidName:
            raise forms.ValidationError("Use 1-64 letters, digits, '_', '.', '-', starting with a letter or digit.")
        if Student.objects.filter(name__iexact=username).exists():
            raise forms.ValidationError("This username is taken.")
        return username

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=False)
        user.first_name, user.email = self.cleaned_data["name"], self.cleaned_data["email"]
        if commit:
            user.save()
        return user
