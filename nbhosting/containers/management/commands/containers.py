import json

from django.core.management.base import CommandError

from nbhosting.cli import NbhCommand
from nbhosting.containers.backend import BackendError
from nbhosting.containers.podman import backend
from nbhosting.containers.spawn import labels_of_instance


class Command(NbhCommand):
    help = "List this site's student containers: course, student, name, state, creation time."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true")

    def handle(self, **options):
        try:
            infos = backend().list(labels_of_instance())
        except BackendError as exc:
            raise CommandError(str(exc)) from None
        rows = [
            {
                "course": info.labels.get("nbhosting.course", ""),
                "student": info.labels.get("nbhosting.student", ""),
                "name": info.name,
                "state": info.state,
                "created": info.created.isoformat() if info.created else "",
            }
            for info in sorted(infos, key=lambda i: i.name)
        ]
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=1))
            return
        line = "{course:<20} {student:<24} {state:<10} {created:<26} {name}"
        header = {"course": "COURSE", "student": "STUDENT", "state": "STATE", "created": "CREATED", "name": "NAME"}
        self.stdout.write(line.format(**header))
        for row in rows:
            self.stdout.write(line.format(**row))
