"""Login, logout and password pages, shared by students and staff."""
from django.contrib.auth import views as auth
from django.contrib.auth.models import User
from django.contrib.auth.tokens import default_token_generator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from nbhosting.accounts.forms import ThrottledAuthenticationForm
from nbhosting.accounts.identity import student_of
from nbhosting.accounts.models import Enrollment


class LoginView(auth.LoginView):
    form_class = ThrottledAuthenticationForm
    template_name = "accounts/login.html"


def set_password_path(user: User) -> str:
    """A one-time link to choose a password: it stops working once the password is set (the token
    is bound to the password hash) or after PASSWORD_RESET_TIMEOUT."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("accounts:set-password", args=[uid, default_token_generator.make_token(user)])


def home(request: HttpRequest) -> HttpResponse:
    """Where a login lands: a student's courses; staff without courses of their own go to the dashboard."""
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    student = student_of(request.user)
    enrollments = list(Enrollment.objects.filter(student=student).select_related("course")
                       .order_by("course__name")) if student else []
    if not enrollments and (request.user.is_staff or _manages_any(request)):
        return redirect("dashboard:courses")
    return render(request, "accounts/home.html", {"student": student, "enrollments": enrollments})


def _manages_any(request: HttpRequest) -> bool:
    from nbhosting.dashboard.access import visible_courses  # the dashboard decides who manages what
    return bool(visible_courses(request.user))


logout = auth.LogoutView.as_view(next_page=reverse_lazy("accounts:login"))
set_password = auth.PasswordResetConfirmView.as_view(
    template_name="accounts/set_password.html", success_url=reverse_lazy("accounts:password-set"),
    post_reset_login=False)
password_set = auth.PasswordResetCompleteView.as_view(template_name="accounts/password_set.html")
password_reset = auth.PasswordResetView.as_view(
    template_name="accounts/password_reset.html", email_template_name="accounts/password_reset_email.txt",
    subject_template_name="accounts/password_reset_subject.txt", success_url=reverse_lazy("accounts:reset-sent"))
reset_sent = auth.PasswordResetDoneView.as_view(template_name="accounts/reset_sent.html")
