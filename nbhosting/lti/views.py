"""LTI 1.3 endpoints: OIDC login initiation, the launch, and the tool's JWKS.

Both login and launch answer inside the LMS's cross-site iframe, where the browser keeps no
cookie: nothing here relies on one (nbhosting.lti.state)."""
import logging
import re
import time
from urllib.parse import urlsplit

from django.contrib.auth import login as django_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from pylti1p3.contrib.django.launch_data_storage.cache import DjangoCacheDataStorage
from pylti1p3.exception import LtiException, OIDCException

from nbhosting import opening
from nbhosting.accounts.forms import client_address
from nbhosting.accounts.identity import user_for_external
from nbhosting.accounts.models import ExternalIdentity
from nbhosting.exchange.gradebook import GradebookError
from nbhosting.exchange.models import nbgrader_of
from nbhosting.exchange.views import open_grading_server
from nbhosting.gateway.pages import error_page, framable
from nbhosting.lti import deep_linking, keys, launching, state, throttle
from nbhosting.lti.config import tool_url
from nbhosting.lti.lti13 import Launch, Login
from nbhosting.lti.models import Platform
from nbhosting.lti.tool_conf import ToolConf
from nbhosting.sizes import format_size
from nbhosting.workspaces.models import Student
from nbhosting.workspaces.notebooks import Notebook, NotebookNotFound, resolve

log = logging.getLogger(__name__)
STORAGE_TARGET = re.compile(r"[A-Za-z0-9_.-]{1,64}")
JWKS_CACHE_SECONDS = 300


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@require_GET
def jwks(request: HttpRequest) -> HttpResponse:
    return JsonResponse(keys.jwks())


@csrf_exempt
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    """OIDC login initiation: the platform sends the browser here, we send it to the platform's
    authentication endpoint with a state and nonce of ours."""
    if (refused := throttle.login_refused(request)) is not None:
        return refused
    params = request.POST if request.method == "POST" else request.GET
    target = params.get("lti_storage_target", "")
    if target and not STORAGE_TARGET.fullmatch(target):
        return error_page(request, 400, "LTI login refused", "Invalid lti_storage_target.")
    oidc = Login(request, ToolConf())
    try:
        auth_url, secret = oidc.auth_url(tool_url("lti:launch", request), target, client_address(request))
    except (OIDCException, LtiException) as exc:
        throttle.record_failure(request)
        return error_page(request, 400, "LTI login refused", f"{exc}.")
    if secret is None:
        return framable(HttpResponseRedirect(auth_url))
    storage = {"target": target, "origin": origin(auth_url), "key": f"nbh_state_{oidc.key}", "value": secret,
               "next": auth_url}
    return framable(render(request, "lti/storage_login.html", {"storage": storage}))


@csrf_exempt
@require_POST
def launch(request: HttpRequest) -> HttpResponse:
    started = time.monotonic()
    response = _launch(request)
    # The launch's own time (validation included), for scripts/bench-open.
    response["Server-Timing"] = f"launch;dur={(time.monotonic() - started) * 1000:.1f}"
    return response


def _launch(request: HttpRequest) -> HttpResponse:
    if (refused := throttle.launch_refused(request)) is not None:
        return refused
    tool_conf = ToolConf()
    message = Launch(request, tool_conf)
    message.set_public_key_caching(DjangoCacheDataStorage(), cache_lifetime=JWKS_CACHE_SECONDS)
    try:
        row = state.pending(request.POST.get("state", ""))
        if row.storage_target and "lti_storage_value" not in request.POST:
            return _read_storage(request, row)
        message.validate()
    except LtiException as exc:
        log.warning("LTI launch refused: %s", exc)
        throttle.record_failure(request)
        return error_page(request, 403, "LTI launch refused", f"{exc}.")
    data = dict(message.get_launch_data())
    if message.is_deep_link_launch():
        return deep_linking.picker(request, message, data)
    if not message.is_resource_launch():
        return error_page(request, 400, "Unsupported LTI message", "This tool opens resource links only.")
    return _open(request, message.platform, data)


def _read_storage(request: HttpRequest, row) -> HttpResponse:
    """The page that reads the login's secret back from the platform's storage, then posts again."""
    storage = {"target": row.storage_target, "origin": origin(row.platform.auth_login_url),
               "key": f"nbh_state_{row.key}"}
    context = {"action": request.path, "id_token": request.POST.get("id_token", ""),
               "state": request.POST.get("state", ""), "storage": storage}
    return framable(render(request, "lti/storage_launch.html", context))


def _open(request: HttpRequest, platform: Platform, data: dict) -> HttpResponse:
    try:
        target = launching.target_of(platform.courses.all(), data.get(launching.CUSTOM) or {})
        role = launching.role_of(platform, data, target)
        notebook = resolve(target.course.repo_dir, target.notebook) if target.mode != "instructor" else None
    except launching.Refused as refused:
        return error_page(request, refused.status, refused.title, refused.message)
    except NotebookNotFound:
        return error_page(request, 404, "Unknown notebook", "The course has no notebook by that name.")
    person = launching.admit(platform, data, target, role)
    if notebook is None:
        return _instructor(request, target.course, person)
    return open_for(request, target, person.student, notebook)


def open_for(request: HttpRequest, target: launching.Target, student: Student, notebook: Notebook) -> HttpResponse:
    """The end of every LTI launch (1.3 and 1.1): the notebook opened, or a readable error page."""
    course = target.course
    try:
        opened = opening.open_notebook(course, student, notebook, git_mode=target.mode == "git")
    except opening.Conflict as exc:
        return error_page(request, 409, "Workspace in use", str(exc))
    except opening.Full:
        return error_page(request, 507, "Your workspace is full",
                          f"Your files in {course.name} use all of your disk quota ({format_size(course.quota_bytes)}),"
                          " so this notebook could not be copied. Delete files you no longer need, then open the "
                          "activity again.")
    except opening.NotStarted as exc:
        log.error("LTI open %s/%s for %s failed: %s", course.name, target.notebook, student, exc)
        return error_page(request, 503, "Your notebook server could not start",
                          "Your files are safe. Please try again in a minute.")
    return framable(HttpResponseRedirect(opened.url))


def _instructor(request: HttpRequest, course, person: ExternalIdentity) -> HttpResponse:
    """An LMS instructor or TA: the grading server when the course uses nbgrader (a capability
    URL, which works in the iframe), else the course's dashboard page (logged in: a session cookie,
    which only a top-level window keeps)."""
    user = user_for_external(person)
    django_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    nbgrader = nbgrader_of(course)
    if nbgrader is None:
        return HttpResponseRedirect(reverse("dashboard:course", args=[course.name]))
    try:
        ready = open_grading_server(nbgrader)
    except (opening.NotStarted, GradebookError, OSError) as exc:
        log.error("grading server of %s failed: %s", course.name, exc)
        return error_page(request, 503, "The grading server could not start", "Please try again in a minute.")
    return framable(HttpResponseRedirect(ready.container.base_url + "formgrader"))
