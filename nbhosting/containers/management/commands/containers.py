import json

from django.core.management.base import CommandError

from nbhosting.cli import NbhCommand
from nbhosting.containers.backend import Backend, BackendError, ContainerInfo
from nbhosting.containers.backends import get_backend as backend
from nbhosting.containers.models import Container
from nbhosting.containers.spawn import labels_of_instance
from nbhosting.courses.models import Course


def current_images(engine: Backend) -> dict[str, str | None]:
    """Each course's image id right now: a container on another one moves at its next start."""
    return {course.name: engine.image_id(course.image_name) for course in Course.objects.all()}


def image_state(info: ContainerInfo, current: dict[str, str | None]) -> str:
    wanted = current.get(info.labels.get("nbhosting.course", ""))
    if not wanted:
        return "unknown"
    return "current" if info.image_id.removeprefix("sha256:") == wanted else "outdated"


class Command(NbhCommand):
    help = ("List this site's student containers: course, student, state, image (current, or "
            "outdated when the course's image was rebuilt since), creation time, name.")

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true")

    def handle(self, **options):
        engine = backend()
        try:
            infos = engine.list(labels_of_instance())
            current = current_images(engine)
        except BackendError as exc:
            raise CommandError(str(exc)) from None
        # The row's names: a claimed pool server's label still names the pool. The labels only for
        # a container that no row knows.
        known = {r.name: (r.course.name, r.student.name)
                 for r in Container.objects.select_related("course", "student")}
        rows = [
            {
                "course": known.get(info.name, (info.labels.get("nbhosting.course", ""),))[0],
                "student": known.get(info.name, ("", info.labels.get("nbhosting.student", "")))[1],
                "name": info.name,
                "state": info.said,  # the engine's own word
                "image": image_state(info, current),
                "image_id": info.image_id[:12],
                "created": info.created.isoformat() if info.created else "",
            }
            for info in sorted(infos, key=lambda i: i.name)
        ]
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=1))
            return
        line = "{course:<20} {student:<24} {state:<10} {image:<9} {created:<26} {name}"
        header = {"course": "COURSE", "student": "STUDENT", "state": "STATE", "image": "IMAGE",
                  "created": "CREATED", "name": "NAME"}
        self.stdout.write(line.format(**header))
        for row in rows:
            self.stdout.write(line.format(**row))
