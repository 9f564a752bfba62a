"""/accounts/: the login pages of everyone who logs in at the platform's own address."""
from django.urls import path

from nbhosting.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.logout, name="logout"),
    path("password-reset/", views.password_reset, name="password-reset"),
    path("password-reset/sent/", views.reset_sent, name="reset-sent"),
    path("set-password/<uidb64>/<token>/", views.set_password, name="set-password"),
    path("set-password/done/", views.password_set, name="password-set"),
    path("signup/<str:course>/", views.signup, name="signup"),
]
