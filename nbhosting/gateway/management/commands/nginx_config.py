import os
import pwd
from pathlib import Path

from django.conf import settings

from nbhosting.cli import NbhCommand

TEMPLATES = Path(settings.BASE_DIR) / "nginx"


def render(template: str, values: dict[str, str]) -> str:
    text = (TEMPLATES / template).read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    return text


class Command(NbhCommand):
    help = "Write nginx's configuration for this site (the site, or a whole standalone nginx.conf)."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="the site file to write")
        parser.add_argument("--standalone", metavar="CONF", help="also write a whole nginx.conf here")

    def handle(self, out, standalone, **options):
        run = settings.DATA_ROOT / "run"
        values = {
            "RUN": str(run),
            "PORT": os.environ.get("NBH_HTTP_PORT", "80"),
            "STATIC": str(settings.STATIC_ROOT),
            "FRAME_ANCESTORS": " ".join(settings.NBH_FRAME_ANCESTORS),
            "USER": pwd.getpwnam("www-data").pw_name,
        }
        Path(out).write_text(render("nbhosting-site.conf.in", values))
        if standalone:
            (run / "nginx-tmp").mkdir(parents=True, exist_ok=True)
            Path(standalone).write_text(render("standalone.conf.in", values).replace(
                f"{run}/nginx-site.conf", str(Path(out).resolve())))
        self.stdout.write(f"wrote {out}" + (f" and {standalone}" if standalone else ""))
