from django.contrib import admin
from django.contrib.auth import views as auth
from django.urls import path, re_path

from nbhosting.exchange import views as exchange
from nbhosting.gateway import views as gateway

# <course>/<notebook path, may hold slashes>/<student>
OPEN = r"(?P<course>[^/]+)/(?P<notebook>.+)/(?P<student>[^/]+)/?$"

urlpatterns = [
    re_path(r"^notebookLazyCopy/" + OPEN, gateway.lazy_copy, name="lazy-copy"),
    re_path(r"^ipythonExercice/" + OPEN, gateway.lazy_copy, name="ipython-exercice"),
    re_path(r"^notebookGitRepo/" + OPEN, gateway.git_repo, name="git-repo"),
    re_path(r"^c/(?P<secret>[^/]+)(?P<rest>/.*)?$", gateway.gone, name="gone"),
    path("instructor/<str:course>/", exchange.workspace, name="instructor-workspace"),
    path("accounts/login/", auth.LoginView.as_view(template_name="exchange/login.html"), name="login"),
    path("accounts/logout/", auth.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]
