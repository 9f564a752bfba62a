from django.contrib import admin
from django.urls import include, path, re_path

from nbhosting.accounts import views as accounts
from nbhosting.classroom import snapshots, tools
from nbhosting.exchange import views as exchange
from nbhosting.gateway import servers
from nbhosting.gateway import views as gateway
from nbhosting.starts import views as starts

# <course>/<notebook path, may hold slashes>/<student>; any character matches, even a newline,
# so that bad input reaches the view and gets its readable 400 rather than a bare 404.
OPEN = r"(?P<course>[^/]+)/(?P<notebook>(?s:.+))/(?P<student>[^/]+)/?$"

urlpatterns = [
    re_path(r"^notebookLazyCopy/" + OPEN, gateway.lazy_copy, name="lazy-copy"),
    re_path(r"^ipythonExercice/" + OPEN, gateway.lazy_copy, name="ipython-exercice"),
    re_path(r"^notebookGitRepo/" + OPEN, gateway.git_repo, name="git-repo"),
    re_path(r"^c/(?P<secret>[^/]+)(?P<rest>/.*)?$", servers.gone, name="gone"),
    # The progress page of a start, and what it polls: the token is the capability (nbhosting.starts).
    re_path(r"^starting/(?P<token>[^/]+)/$", starts.progress, name="starting"),
    re_path(r"^starting/(?P<token>[^/]+)/status$", starts.status, name="starting-status"),
    re_path(r"^restart/(?P<secret>[^/]+)(?P<rest>/.*)?$", servers.restart, name="restart"),
    re_path(r"^stop/(?P<secret>[^/]+)/?$", servers.stop, name="stop"),
    # The Jupyter menu's pages, reached with the server's secret like "stop" (classroom.tools).
    re_path(r"^reset/(?P<secret>[^/]+)/?$", tools.reset, name="reset"),
    re_path(r"^share/(?P<secret>[^/]+)/?$", tools.share, name="share"),
    re_path(r"^s/(?P<token>[^/]+)/?$", snapshots.public, name="snapshot"),
    path("course/<str:course>/", include("nbhosting.classroom.urls")),
    path("instructor/<str:course>/", exchange.workspace, name="instructor-workspace"),
    path("", accounts.home, name="home"),
    path("accounts/", include("nbhosting.accounts.urls")),
    path("admin/", admin.site.urls),
    path("staff/", include("nbhosting.dashboard.urls")),
    path("lti/", include("nbhosting.lti.urls")),
]

handler404 = "nbhosting.gateway.views.not_found"
