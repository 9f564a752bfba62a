"""/course/<course>/...: the classroom pages of a course, for its students and staff. Every view
here is wrapped by access.classroom_view (tests/test_classroom_access.py walks this list)."""
from django.urls import path, re_path

from nbhosting.classroom import files, snapshots, views

app_name = "classroom"
# A notebook path may hold slashes; any character matches, so that bad input gets a readable page.
NOTEBOOK = r"(?P<path>(?s:.+))"

urlpatterns = [
    path("", views.course_home, name="course"),
    re_path(r"^nb/" + NOTEBOOK + "$", views.notebook_page, name="notebook"),
    re_path(r"^open/" + NOTEBOOK + "$", views.open_view, name="open"),
    re_path(r"^new-version/" + NOTEBOOK + "$", views.new_version, name="new-version"),
    path("update/", views.update, name="update"),
    path("dismiss/", views.dismiss, name="dismiss"),
    path("files.zip", files.download, name="zip"),
    path("share/", snapshots.shares, name="shares"),
    path("share/<str:token>/revoke/", snapshots.revoke_view, name="revoke"),
]
