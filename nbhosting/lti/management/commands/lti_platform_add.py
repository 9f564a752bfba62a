from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.core.validators import URLValidator
from django.db import transaction

from nbhosting.cli import NbhCommand, find_course
from nbhosting.lti.config import tool_urls
from nbhosting.lti.models import Deployment, Platform


class Command(NbhCommand):
    help = ("Registers an LMS (LTI 1.3 platform), or updates its registration: the values its admin "
            "gives, and the courses its launches may open.")

    def add_arguments(self, parser):
        parser.add_argument("issuer", help="the platform's issuer (iss), e.g. https://canvas.instructure.com")
        parser.add_argument("client_id", help="the client id the platform gave this tool")
        parser.add_argument("--deployment", action="append", default=[], metavar="ID", required=True,
                            help="a deployment id (repeat for several)")
        parser.add_argument("--auth-url", required=True, help="the platform's OIDC authentication URL")
        parser.add_argument("--token-url", required=True, help="the platform's OAuth2 access token URL")
        parser.add_argument("--jwks-url", required=True, help="the platform's public keyset URL")
        parser.add_argument("--audience", default="", help="the token endpoint's audience, if not its URL")
        parser.add_argument("--course", action="append", default=[], metavar="COURSE",
                            help="a course its launches may open (repeat for several)")
        parser.add_argument("--name", default="", help="a name for the dashboard")

    def handle(self, issuer, client_id, **options):
        urls = {"auth_login_url": options["auth_url"], "auth_token_url": options["token_url"],
                "key_set_url": options["jwks_url"]}
        for value in [issuer, *urls.values()]:
            try:
                URLValidator(schemes=["http", "https"])(value)
            except ValidationError:
                raise CommandError(f"not an http(s) URL: {value!r}") from None
        if not client_id.strip() or not all(d.strip() for d in options["deployment"]):
            raise CommandError("the client id and deployment ids must not be empty")
        courses = [find_course(name) for name in options["course"]]
        with transaction.atomic():
            platform, created = Platform.objects.update_or_create(
                issuer=issuer, client_id=client_id,
                defaults={**urls, "auth_audience": options["audience"], "name": options["name"]})
            for deployment in options["deployment"]:
                Deployment.objects.get_or_create(platform=platform, deployment_id=deployment)
            platform.courses.add(*courses)
        self.stdout.write(f"{'registered' if created else 'updated'} {platform}; give the LMS:")
        for label, url in tool_urls():
            self.stdout.write(f"  {label}: {url}")
