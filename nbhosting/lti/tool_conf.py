"""pylti1p3's view of our registrations: a ToolConf read from the Platform rows, every issuer
allowed several client ids, and the tool's own key on every registration."""
from typing import Any

from pylti1p3.deployment import Deployment as LtiDeployment
from pylti1p3.registration import Registration
from pylti1p3.tool_config import ToolConfAbstract

from nbhosting.lti.keys import tool_keys
from nbhosting.lti.models import Deployment, Platform


def registration_of(platform: Platform) -> Registration:
    private_pem, public_pem = tool_keys()
    return (Registration()
            .set_issuer(platform.issuer)
            .set_client_id(platform.client_id)
            .set_auth_login_url(platform.auth_login_url)
            .set_auth_token_url(platform.auth_token_url)
            .set_auth_audience(platform.auth_audience or None)  # type: ignore[arg-type]
            .set_key_set_url(platform.key_set_url)
            .set_tool_private_key(private_pem)
            .set_tool_public_key(public_pem))


class ToolConf(ToolConfAbstract):
    def __init__(self) -> None:
        self.platform: Platform | None = None  # the registration the last lookup found

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def find_registration_by_issuer(self, iss: str, *args: Any, **kwargs: Any) -> Registration:
        raise NotImplementedError("every issuer may have several client ids here")

    def find_deployment(self, iss: str, deployment_id: str) -> LtiDeployment | None:
        raise NotImplementedError("every issuer may have several client ids here")

    def find_registration_by_params(self, iss: str, client_id: str, *args: Any,
                                    **kwargs: Any) -> Registration | None:
        self.platform = Platform.objects.filter(issuer=iss, client_id=client_id).first() if client_id else None
        return registration_of(self.platform) if self.platform else None  # type: ignore[return-value]

    def find_deployment_by_params(self, iss: str, deployment_id: str, client_id: str, *args: Any,
                                  **kwargs: Any) -> LtiDeployment | None:
        found = Deployment.objects.filter(platform__issuer=iss, platform__client_id=client_id,
                                          deployment_id=deployment_id).exists()
        return LtiDeployment().set_deployment_id(deployment_id) if found else None
