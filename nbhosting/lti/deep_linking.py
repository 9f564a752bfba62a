"""LTI Deep Linking 2.0: an instructor in the LMS picks a notebook of a course this registration
may launch, and we answer with a signed LtiDeepLinkingResponse (pylti1p3's DeepLink) holding a
resource link whose custom parameters name the course, the notebook and the mode. A teacher
picks among the courses the registration may open, whether or not their LMS course is mapped to
one (nbhosting.lti.contexts): the link gives learners' views; the picker says where they are staff.

Between the picker and the answer nothing is kept on the server and no cookie is needed: the
picker's form carries the request's settings signed with the site's key, valid for MAX_AGE."""
from typing import Any

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from pylti1p3.deep_link import DeepLink
from pylti1p3.deep_link_resource import DeepLinkResource

from nbhosting.accounts.models import Enrollment
from nbhosting.dashboard.overview import Node, notebook_tree
from nbhosting.gateway.pages import error_page, framable
from nbhosting.lti import contexts, launching, roles
from nbhosting.lti.config import tool_url
from nbhosting.lti.lti13 import Launch
from nbhosting.lti.models import Platform
from nbhosting.lti.tool_conf import registration_of
from nbhosting.names import InvalidName, validate_course
from nbhosting.workspaces.notebooks import NotebookNotFound, resolve

SALT = "nbhosting.lti.deep-link"
MAX_AGE = 30 * 60
SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
STAFF = (Enrollment.Role.INSTRUCTOR, Enrollment.Role.TA)


def _paths(nodes: list[Node]) -> list[Node]:
    flat: list[Node] = []
    for node in nodes:
        flat.extend(_paths(node.children) if node.is_folder else [node])
    return flat


def picker(request: HttpRequest, message: Launch, data: dict[str, Any]) -> HttpResponse:
    if roles.course_role(data.get(roles.ROLES_CLAIM)) not in STAFF:
        return error_page(request, 403, "Instructors only", "Only the LMS course's instructors add notebooks.")
    platform = message.platform
    token = signing.dumps({"platform": platform.pk, "deployment": data.get(launching.DEPLOYMENT),
                           "settings": data.get(SETTINGS)}, salt=SALT, compress=True)
    # Any teacher of the LMS may link notebooks of the courses the registration may open: a link
    # opens a learner's view, and staff rights still come only from a mapped context.
    context_id = launching.context_id_of(data)
    courses = [(course, _paths(notebook_tree(course)), contexts.is_mapped(platform, context_id, course))
               for course in platform.courses.order_by("name")]
    return framable(render(request, "lti/picker.html", {"token": token, "courses": courses,
                                                        "platform": platform, "context_id": context_id}))


@csrf_exempt
@require_POST
def respond(request: HttpRequest) -> HttpResponse:
    try:
        picked = signing.loads(request.POST.get("token", ""), salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature:
        return error_page(request, 400, "Expired choice", "Please start adding the activity again from the LMS.")
    platform = Platform.objects.filter(pk=picked["platform"]).first()
    name, path = request.POST.get("course", ""), request.POST.get("notebook", "")
    mode = request.POST.get("mode", "mooc")
    try:
        validate_course(name)
        course = platform.courses.filter(name=name).first() if platform else None
        if course is None or mode not in ("mooc", "git"):
            raise InvalidName(f"{name} is not a course this LMS may use, or {mode} is no mode")
        notebook = resolve(course.repo_dir, path)
    except (InvalidName, NotebookNotFound) as exc:
        return error_page(request, 400, "Invalid choice", str(exc))
    resource = (DeepLinkResource()
                .set_url(tool_url("lti:launch", request))
                .set_title(f"{course.name}: {notebook.target.stem}")
                .set_custom_params({"course": course.name, "notebook": path, "mode": mode}))
    html = DeepLink(registration_of(platform), picked["deployment"], picked["settings"]).output_response_form(
        [resource])
    return framable(HttpResponse(html))
