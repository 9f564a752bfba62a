"""pylti1p3's OIDC login and message launch, with the state and nonce kept in our database
(nbhosting.lti.state) instead of a cookie and a session, which the browser drops in a cross-site
iframe. Everything else (the id_token's signature against the platform's JWKS, iss, aud, exp,
deployment, message claims) is pylti1p3's own validation."""
from typing import Any

from django.http import HttpRequest
from pylti1p3.contrib.django.redirect import DjangoRedirect
from pylti1p3.contrib.django.request import DjangoRequest
from pylti1p3.cookie import CookieService
from pylti1p3.exception import LtiException
from pylti1p3.message_launch import MessageLaunch
from pylti1p3.oidc_login import OIDCLogin
from pylti1p3.session import SessionService

from nbhosting.lti import state
from nbhosting.lti.models import LaunchState, Platform
from nbhosting.lti.tool_conf import ToolConf


class NoCookies(CookieService):
    """No cookie is set or read: the state lives in the database."""

    def get_cookie(self, name: str) -> str | None:
        return None

    def set_cookie(self, name: str, value: Any, exp: int | None = 3600) -> None:
        pass


class NoSession(SessionService):
    """pylti1p3 keeps nonces and launches in a browser session; ours are LaunchState rows, so
    every use of the session is replaced below and this one must never be reached."""

    def __init__(self) -> None:  # no data storage bound to a browser session
        pass

    def save_nonce(self, nonce: str) -> None:
        pass  # Login.auth_url keeps it, with the state, in a LaunchState row

    def _set_value(self, key: str, value: object) -> None:
        raise AssertionError("LTI state is kept in LaunchState rows, not in a session")

    def _get_value(self, key: str) -> Any:
        raise AssertionError("LTI state is kept in LaunchState rows, not in a session")


class Login(OIDCLogin):
    """The library builds the authentication request; we choose its state and nonce (bound to each
    other) and keep them in a LaunchState row."""

    def __init__(self, request: HttpRequest, tool_conf: ToolConf) -> None:
        super().__init__(DjangoRequest(request), tool_conf, NoSession(), NoCookies())
        self.nonce = state.new_nonce()
        self.key = ""

    def _get_uuid(self) -> str:
        # The library calls this once, for its state ("state-" + this), before asking for a nonce.
        self.key, bound = state.new_state(self.nonce)
        return bound

    def _generate_nonce(self) -> str:
        return self.nonce

    def get_redirect(self, url: str) -> DjangoRedirect:
        return DjangoRedirect(url)

    def auth_url(self, launch_url: str, storage_target: str, address: str) -> tuple[str, str | None]:
        """The platform's authentication URL, and the secret for its client-side storage, if any;
        `address`: the client's, counted by the throttle."""
        url = self.get_redirect_object(launch_url).get_redirect_url()
        platform = self._tool_config.platform
        assert platform is not None  # the registration was found, or the library raised
        return url, state.save(self.key, platform, self.nonce, storage_target, address)


class Launch(MessageLaunch):
    def __init__(self, request: HttpRequest, tool_conf: ToolConf) -> None:
        super().__init__(DjangoRequest(request, post_only=True), tool_conf, NoSession(), NoCookies())
        self.row: LaunchState | None = None

    @property
    def platform(self) -> Platform:
        assert self._tool_config.platform is not None
        return self._tool_config.platform

    def _get_request_param(self, key: str) -> str:
        return self._request.get_param(key)

    def validate_state(self) -> "Launch":
        self.row = state.pending(self._get_request_param("state"))
        return self

    def validate_nonce(self) -> "Launch":
        assert self.row is not None
        state.check(self.row, self._get_request_param("state"), self._get_jwt_body().get("nonce", ""),
                    self._get_request_param("lti_storage_value"))
        return self

    def validate_registration(self) -> "Launch":
        super().validate_registration()
        if self.row is not None and self.row.platform_id != self.platform.pk:
            raise LtiException("the id_token comes from another registration than the login")
        body = self._get_jwt_body()
        aud = body.get("aud")
        # OIDC: with several audiences, azp must be present; when present, it must be our client id.
        if ("azp" in body or (isinstance(aud, list) and len(aud) > 1)) and body.get("azp") != self.get_client_id():
            raise LtiException("the id_token's azp is not our client id")
        return self

    def save_launch_data(self) -> "Launch":
        # Last step of validate(): everything else passed, so this launch uses up its state.
        assert self.row is not None
        state.consume(self.row)
        return self
