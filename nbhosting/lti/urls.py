"""/lti/: the LTI tool's endpoints, as an LMS admin registers them (see the tool configuration page)."""
from django.urls import path

from nbhosting.lti import deep_linking, lti11, staff, views

app_name = "lti"

urlpatterns = [
    path("login/", views.login, name="login"),
    path("launch/", views.launch, name="launch"),
    path("jwks/", views.jwks, name="jwks"),
    path("deep-link/", deep_linking.respond, name="deep-link"),
    path("11/launch/", lti11.launch, name="lti11-launch"),
    # Staff pages, with the dashboard's access rules.
    path("staff/", staff.registrations, name="registrations"),
    path("staff/course/<str:course>/grades/", staff.course_grades, name="course-grades"),
    path("staff/course/<str:course>/grades/push/", staff.push_grades, name="push-grades"),
]
