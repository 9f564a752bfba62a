"""The staff dashboard, mounted under /staff/. Every view here is wrapped by access.staff_view or
access.course_view (tests/test_dashboard_access.py walks this list to check each one)."""
from django.contrib.auth import views as auth
from django.urls import path, reverse_lazy

from nbhosting.accounts.views import LoginView
from nbhosting.classroom import staff as classroom
from nbhosting.dashboard.views import actions, courses, jobs, stats

app_name = "dashboard"

# The only views open to anonymous users.
PUBLIC = {"login", "logout"}

urlpatterns = [
    # The same throttled login as everyone's, in the dashboard's own page.
    path("login/", LoginView.as_view(template_name="dashboard/login.html",
                                     next_page=reverse_lazy("dashboard:courses")), name="login"),
    path("logout/", auth.LogoutView.as_view(next_page=reverse_lazy("dashboard:login")), name="logout"),
    path("", courses.courses, name="courses"),
    path("course/<str:course>/", courses.course, name="course"),
    path("course/<str:course>/settings/", actions.save_settings, name="settings"),
    path("course/<str:course>/pull/", actions.pull, name="pull"),
    path("course/<str:course>/build/", actions.build, name="build"),
    path("course/<str:course>/build-log/", jobs.build_log, name="build-log"),
    path("course/<str:course>/jobs/<int:job>/", jobs.job_page, name="job"),
    path("course/<str:course>/jobs/<int:job>.json", jobs.job_progress, name="job-progress"),
    path("course/<str:course>/students/<str:student>/stop/", actions.stop_student, name="stop-student"),
    path("course/<str:course>/students/<str:student>/restart/", actions.restart_student, name="restart-student"),
    path("course/<str:course>/clear-staff-work/", actions.clear_staff_work, name="clear-staff-work"),
    path("course/<str:course>/my-workspace/", actions.my_workspace, name="my-workspace"),
    path("course/<str:course>/students/", classroom.students, name="students"),
    path("course/<str:course>/droparea/", classroom.droparea, name="droparea"),
    path("course/<str:course>/droparea/run/", classroom.droparea_run, name="droparea-run"),
    path("course/<str:course>/stats/", stats.stats_page, name="stats"),
    path("course/<str:course>/stats/<str:figure>.json", stats.figure_json, name="figure-json"),
    path("course/<str:course>/stats/<str:figure>.csv", stats.figure_csv, name="figure-csv"),
]
