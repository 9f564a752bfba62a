import json

from nbhosting.cli import NbhCommand
from nbhosting.lti.models import Platform


class Command(NbhCommand):
    help = "The registered LMSs (LTI 1.3 platforms), their deployments and courses."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true")

    def handle(self, **options):
        rows = [{
            "name": p.name, "issuer": p.issuer, "client_id": p.client_id,
            "deployments": sorted(p.deployments.values_list("deployment_id", flat=True)),
            "courses": sorted(p.courses.values_list("name", flat=True)),
            "auth_url": p.auth_login_url, "token_url": p.auth_token_url, "jwks_url": p.key_set_url,
        } for p in Platform.objects.order_by("issuer", "client_id")]
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        for row in rows:
            self.stdout.write(f"{row['issuer']}  client {row['client_id']}  deployments {','.join(row['deployments'])}"
                              f"  courses {','.join(row['courses']) or '-'}")
