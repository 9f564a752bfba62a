"""Login, logout and password pages, shared by students and staff; students' self sign-up."""
import hmac

from django import forms
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth
from django.contrib.auth.models import User
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.views.decorators.http import require_http_methods

from nbhosting.accounts import throttle
from nbhosting.accounts.forms import EnrollmentKeyForm, SignupForm, ThrottledAuthenticationForm, client_address
from nbhosting.accounts.identity import enroll, link_account, student_of
from nbhosting.accounts.models import Enrollment, EnrollmentKey
from nbhosting.courses.models import Course


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


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest, course: str) -> HttpResponse:
    """Self sign-up with the course's enrollment key: a new account, or a logged-in student's
    enrollment. Wrong keys count as failed logins, so that keys cannot be guessed either."""
    found = Course.objects.filter(name=course).select_related("enrollment_key").first()
    key = getattr(found, "enrollment_key", None) if found else None
    if key is None:
        return render(request, "accounts/message.html", {
            "title": "No sign-up here", "message": "This course takes no sign-ups; ask your teacher for an account."},
            status=404)
    existing = student_of(request.user)
    if request.user.is_authenticated and existing is None:
        return render(request, "accounts/message.html", {
            "title": "No student account", "message": "Your account does not run notebooks; log out to sign up."},
            status=403)
    form = (EnrollmentKeyForm if existing else SignupForm)(request.POST or None)
    if request.method == "POST" and form.is_valid() and _key_accepted(request, form, key):
        with transaction.atomic():
            if existing is None:
                user = form.save()
                existing = link_account(user, user.username).student
                auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            current = Enrollment.objects.filter(course=found, student=existing).first()
            if current is None:
                enroll(found, existing, Enrollment.Role.LEARNER, key.group, Enrollment.Source.SIGNUP)
        return redirect("classroom:course", course=found.name)
    return render(request, "accounts/signup.html", {"course": found, "form": form, "new_account": not existing},
                  status=400 if request.method == "POST" else 200)


def _key_accepted(request: HttpRequest, form: forms.Form, key: EnrollmentKey) -> bool:
    counted_as, address = f"signup:{key.course.name}", client_address(request)
    if throttle.seconds_refused(counted_as, address):
        form.add_error(None, "Too many wrong keys. Try again later.")
        return False
    if not hmac.compare_digest(form.cleaned_data["key"].encode(), key.key.encode()):
        throttle.record_failure(counted_as, address)
        form.add_error("key", "This is not the key of this course.")
        return False
    return True


logout = auth.LogoutView.as_view(next_page=reverse_lazy("accounts:login"))
set_password = auth.PasswordResetConfirmView.as_view(
    template_name="accounts/set_password.html", success_url=reverse_lazy("accounts:password-set"),
    post_reset_login=False)
password_set = auth.PasswordResetCompleteView.as_view(template_name="accounts/password_set.html")
password_reset = auth.PasswordResetView.as_view(
    template_name="accounts/password_reset.html", email_template_name="accounts/password_reset_email.txt",
    subject_template_name="accounts/password_reset_subject.txt", success_url=reverse_lazy("accounts:reset-sent"))
reset_sent = auth.PasswordResetDoneView.as_view(template_name="accounts/reset_sent.html")
