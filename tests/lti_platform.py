"""A test LMS on another site (127.0.0.2): an LTI 1.3 platform built with the `lti1p3platform`
package, which signs the id_tokens, issues the service access tokens (checking our client
assertion against our JWKS), and validates our deep linking responses. We only serve its pages:
the course page that iframes the tool (with the platform side of LTI client-side storage, which no
package provides), the OIDC authentication endpoint, and in-memory AGS, NRPS and deep linking
return endpoints that record what the tool sent."""
import html
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lti1p3platform.exceptions import LtiException, MissingRequiredClaim, PreflightRequestValidationException
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.membership import Context
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request, TRequest
from lti1p3platform.score import UpdateScoreStatus
from lti1p3platform.service_connector import AssignmentsGradesService, NamesRoleProvisioningService

HOST = "127.0.0.2"
MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership"
INSTRUCTOR = [f"{MEMBERSHIP}#Instructor"]
LEARNER = [f"{MEMBERSHIP}#Learner"]
DEPLOYMENT_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/deployment_id"


def rsa_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


@dataclass
class LaunchSpec:
    """One placement of the tool in the LMS, and who opens it."""
    user: str
    roles: list[str]
    custom: dict[str, str] = field(default_factory=dict)
    context: str = "lms-course-1"
    deep_link: bool = False
    name: str = ""
    email: str = ""
    extra_claims: dict[str, Any] = field(default_factory=dict)  # to forge: aud, deployment ...
    expires_in: int = 300


class HandlerRequest(Request):
    def build_metadata(self, request: dict) -> TRequest:
        return request  # already in the library's shape (see Handler._request)


class Platform(LTI1P3PlatformConfAbstract):
    def init_platform_config(self, **kwargs: Any) -> None:
        self._registration = kwargs["registration"]

    def get_registration_by_params(self, **kwargs: Any) -> Registration:
        return self._registration


class Launch(LTIAdvantageMessageLaunchAbstract):
    lms: "LmsSite"

    def prepare_launch(self, preflight_response: dict) -> None:
        spec = self.lms.launches[preflight_response["lti_message_hint"]]
        if preflight_response.get("login_hint") != spec.user:
            raise LtiException("login_hint is not the logged-in user")
        self.set_user_data(spec.user, spec.roles, spec.name or None, spec.email or None)
        self.set_resource_link_claim("link-" + preflight_response["lti_message_hint"][:8])
        self.set_launch_context_claim(spec.context, context_title=f"LMS {spec.context}")
        self.set_custom_parameters_claim(spec.custom)
        base = self.lms.url
        self.set_ags(f"{base}/ags/{spec.context}/lineitems", allow_creating_lineitems=True)
        self.set_nrps(f"{base}/nrps/{spec.context}/memberships")
        if spec.deep_link:
            self.set_dl(f"{base}/deep_link_return", title="Add a notebook")
        self.set_id_token_expiration(spec.expires_in)
        self.set_extra_claims(spec.extra_claims)

    def render_launch_form(self, launch_data: dict, **kwargs: Any) -> str:
        self.lms.last_launch = dict(launch_data)
        return (f'<form id="f" method="post" action="{html.escape(launch_data["launch_url"])}">'
                f'<input type="hidden" name="id_token" value="{launch_data["id_token"]}">'
                f'<input type="hidden" name="state" value="{html.escape(launch_data["state"])}"></form>'
                '<script>document.getElementById("f").submit()</script>')


class Preflight(OIDCLoginAbstract):
    def set_lti_message_hint(self, **kwargs: Any) -> None:
        self._lti_message_hint = kwargs["hint"]

    def get_redirect(self, url: str) -> str:
        return url


class Grades(AssignmentsGradesService):
    lms: "LmsSite"
    context: str

    def find_lineitems(self, page=1, limit=None, line_item_id=None, resource_link_id=None, resource_id=None,
                       tag=None):
        items = [i for i in self.lms.lineitems.values() if i["_context"] == self.context]
        return {"content": [{k: v for k, v in i.items() if not k.startswith("_")} for i in items],
                "has_next": False}

    def find_lineitem(self, line_item_id):
        return self.lms.lineitems[line_item_id]

    def create_lineitem(self, creation_data):
        number = str(len(self.lms.lineitems) + 1)
        item = {**creation_data, "id": f"{self.lms.url}/ags/{self.context}/lineitems/{number}",
                "_context": self.context}
        self.lms.lineitems[number] = item
        return {k: v for k, v in item.items() if not k.startswith("_")}

    def update_lineitem(self, update_data):
        raise NotImplementedError

    def delete_lineitem(self, line_item_id):
        raise NotImplementedError

    def update_score(self, line_item_id, score):
        if self.lms.fail_scores:
            self.lms.fail_scores -= 1
            raise LtiException("not now")
        self.lms.scores.append({"lineitem": line_item_id, **score})
        return UpdateScoreStatus.SUCCESS

    def get_results(self, line_item_id, page=1, limit=None, user_id=None):
        return {"content": [], "has_next": False}


class Roster(NamesRoleProvisioningService):
    lms: "LmsSite"
    context: str

    def get_context_by_id(self) -> Context:
        return Context(id=self.context, label=self.context, title=f"LMS {self.context}")

    def get_member_data_page(self, page=1, limit=None, role=None, since=None):
        return {"content": self.lms.members.get(self.context, []), "has_next": False}


class LmsSite:
    def __init__(self, tool: str, client_id: str = "nbh-tool", deployment_id: str = "deployment-1") -> None:
        self.tool = tool.rstrip("/")
        self.client_id, self.deployment_id = client_id, deployment_id
        self.private_key, self.public_key = rsa_pair()
        self.launches: dict[str, LaunchSpec] = {}
        self.lineitems: dict[str, dict] = {}
        self.scores: list[dict] = []
        self.members: dict[str, list[dict]] = {}
        self.deep_links: list[dict] = []
        self.fail_scores = 0  # the next N score posts fail (to see the tool retry)
        self.last_launch: dict = {}
        self.server = ThreadingHTTPServer((HOST, 0), _handler(self))
        self.url = f"http://{HOST}:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    # -- registration ------------------------------------------------------------------------------
    @property
    def issuer(self) -> str:
        return self.url

    def registration(self) -> Registration:
        return (Registration().set_iss(self.issuer).set_client_id(self.client_id)
                .set_deployment_id(self.deployment_id)
                .set_launch_url(f"{self.tool}/lti/launch/").set_deeplink_launch_url(f"{self.tool}/lti/launch/")
                .set_oidc_login_url(f"{self.tool}/lti/login/").set_tool_key_set_url(f"{self.tool}/lti/jwks/")
                .set_platform_public_key(self.public_key).set_platform_private_key(self.private_key))

    def platform(self) -> Platform:
        return Platform(registration=self.registration())

    def add_args(self, *courses: str) -> list[str]:
        """`nbh lti-platform-add` arguments registering this LMS."""
        args = ["lti-platform-add", self.issuer, self.client_id, "--deployment", self.deployment_id,
                "--auth-url", f"{self.url}/auth", "--token-url", f"{self.url}/token",
                "--jwks-url", f"{self.url}/jwks", "--name", "Test LMS"]
        for course in courses:
            args += ["--course", course]
        return args

    # -- launches ----------------------------------------------------------------------------------
    def place(self, spec: LaunchSpec) -> str:
        """Adds a placement; returns its message hint."""
        hint = secrets.token_hex(8)
        self.launches[hint] = spec
        return hint

    def login_url(self, hint: str, storage: bool = False) -> str:
        login = Preflight(None, self.platform())
        login.set_lti_message_hint(hint=hint)
        url = login.initiate_login(self.launches[hint].user)
        return url + ("&lti_storage_target=_parent" if storage else "")

    def page_url(self, hint: str, storage: bool = False) -> str:
        """The LMS page that iframes the tool for this placement."""
        return f"{self.url}/course/{hint}" + ("?storage=1" if storage else "")

    def launch_form(self, session: requests.Session, hint: str) -> tuple[str, dict[str, str]]:
        """Runs login and authentication as a browser without JavaScript or cookies would; returns
        the launch form the platform would auto-submit: (action, {id_token, state})."""
        response = session.get(self.login_url(hint), allow_redirects=False, timeout=30)
        assert response.status_code == 302, response.text[:300]
        page = session.get(response.headers["Location"], allow_redirects=False, timeout=30)
        assert page.status_code == 200, page.text[:300]
        action = re.search(r'action="([^"]+)"', page.text)[1]
        fields = dict(re.findall(r'name="(id_token|state)" value="([^"]*)"', page.text))
        return html.unescape(action), {k: html.unescape(v) for k, v in fields.items()}

    def launch(self, session: requests.Session, spec: LaunchSpec, tamper=None):
        """The whole flow over HTTP; `tamper` may change the launch form before it is posted.
        Returns (the tool's answer, the launch URL, the form posted)."""
        action, form = self.launch_form(session, self.place(spec))
        if tamper:
            form = tamper(form)
        return session.post(action, data=form, allow_redirects=False, timeout=300), action, form

    def stop(self) -> None:
        self.server.shutdown()


PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>LMS course</title></head><body>
<h1>Unit 3 (LMS course)</h1>
<script>
  // The platform side of LTI client-side storage: keeps what the tool puts, per tool origin.
  // (Listening before the tool's frame exists, so that no message can come first.)
  window.ltiStore = {{}}; window.ltiMessages = [];
  window.addEventListener("message", function (event) {{
    const d = event.data || {{}};
    window.ltiMessages.push(d.subject);
    const store = window.ltiStore[event.origin] = window.ltiStore[event.origin] || {{}};
    if (d.subject === "lti.put_data") {{
      store[d.key] = d.value;
      event.source.postMessage({{subject: "lti.put_data.response", message_id: d.message_id, key: d.key,
                                value: d.value}}, event.origin);
    }} else if (d.subject === "lti.get_data") {{
      const reply = {{subject: "lti.get_data.response", message_id: d.message_id, key: d.key}};
      if (d.key in store) reply.value = store[d.key];
      else reply.error = {{code: "bad_request", message: "no such key"}};
      event.source.postMessage(reply, event.origin);
    }}
  }});
</script>
<iframe id="tool" name="tool" src="{src}" width="1100" height="800"></iframe>
</body></html>"""


def _handler(lms: LmsSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _request(self) -> dict:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            ctype = self.headers.get("Content-Type", "")
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()} if "form" in ctype else {}
            return {"method": self.command, "form_data": form, "json": json.loads(body) if "json" in ctype else None,
                    "get_data": {k: v[0] for k, v in parse_qs(url.query).items()}, "headers": self.headers,
                    "content_type": ctype, "path": url.path}

        def _send(self, status: int, body: str | dict | list, ctype: str = "text/html; charset=utf-8") -> None:
            if not isinstance(body, str):
                body, ctype = json.dumps(body), ctype if "json" in ctype else "application/json"
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._route()

        def do_POST(self) -> None:
            self._route()

        def _route(self) -> None:
            request = self._request()
            path = request["path"]
            try:
                if path.startswith("/course/"):
                    hint = path.removeprefix("/course/")
                    src = lms.login_url(hint, storage="storage" in request["get_data"])
                    return self._send(200, PAGE.format(src=html.escape(src)))
                if path == "/auth":
                    launch = Launch(HandlerRequest(request), lms.platform())
                    launch.lms = lms
                    return self._send(200, launch.lti_launch())
                if path == "/jwks":
                    return self._send(200, lms.platform().get_jwks())
                if path == "/token":
                    return self._send(200, lms.platform().get_access_token(request["form_data"]))
                if path == "/deep_link_return":
                    items = lms.platform().validate_deeplinking_resp(request["form_data"])
                    lms.deep_links.extend(items)
                    titles = ", ".join(html.escape(str(i.get("title"))) for i in items)
                    return self._send(200, f'<p id="added">Added: {titles}</p>')
                if match := re.fullmatch(r"/ags/([^/]+)/lineitems(?:/([^/]+)(/scores)?)?", path):
                    return self._ags(request, *match.groups())
                if match := re.fullmatch(r"/nrps/([^/]+)/memberships", path):
                    service = Roster(HandlerRequest(request), lms.platform(), f"{lms.url}{path}")
                    service.lms, service.context = lms, match[1]
                    return self._reply(service.handle_resp(service.handle_get_members))
            except (LtiException, PreflightRequestValidationException, MissingRequiredClaim, jwt.PyJWTError,
                    AssertionError, KeyError) as exc:
                return self._send(400, {"error": str(exc) or type(exc).__name__})
            self._send(404, "not found")

        def _ags(self, request: dict, context: str, item: str | None, scores: str | None) -> None:
            service = Grades(HandlerRequest(request), lms.platform(), f"{lms.url}/ags/{context}/lineitems")
            service.lms, service.context = lms, context
            if item is None:
                handler = service.handle_get_lineitems if request["method"] == "GET" else service.handle_create_lineitem
                return self._reply(service.handle_resp(handler))
            if scores:
                return self._reply(service.handle_resp(service.handle_update_score, line_item_id=item))
            return self._reply(service.handle_resp(service.handle_get_lineitem, line_item_id=item))

        def _reply(self, response: Any) -> None:
            body = response.result["content"] if response.result and "content" in response.result else response.result
            if 200 <= response.code < 300:
                self._send(response.code, body if body is not None else {}, response.media_type)
            else:
                self._send(response.code, {"error": response.message})

    return Handler
