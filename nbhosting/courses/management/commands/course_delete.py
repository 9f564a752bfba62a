import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.utils import timezone

from nbhosting import trees
from nbhosting.cli import NbhCommand
from nbhosting.containers.podman import backend
from nbhosting.containers.spawn import labels_of_course
from nbhosting.courses.models import Course
from nbhosting.exchange import inbound, layout


class Command(NbhCommand):
    help = ("Delete a course. Its repo, the students' workspaces and its nbgrader exchange and course "
            "directory are archived, never destroyed.")

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--force", action="store_true", help="stop and remove running containers first")

    def handle(self, name, force, **options):
        course = Course.objects.filter(name=name).first()
        if course is None:
            raise CommandError(f"no course named {name}")
        containers = backend().list(labels_of_course(course.name))
        running = [c.name for c in containers if c.running]
        if running and not force:
            raise CommandError(f"{len(running)} container(s) of {name} are running; use --force to stop them")
        for container in containers:
            backend().stop(container.name, settings.NBH_STOP_GRACE)
            backend().remove(container.name)
        archive = settings.DATA_ROOT / "archive" / f"{name}-{timezone.now():%Y%m%d-%H%M%S}"
        archive.mkdir(parents=True)
        archive.parent.chmod(0o700)
        folders = (("course", course.repo_dir.parent), ("workspaces", course.workspaces_dir),
                   ("exchange", layout.exchange_dir(course)), ("nbgrader", layout.course_dir(course)),
                   ("exchange-checking", layout.staging_dir(course)),
                   ("exchange-boxes", inbound.boxes_dir(course)))
        for kept_as, folder in folders:
            if os.path.lexists(folder):
                self.archive(folder, archive, kept_as)
        course.delete()
        self.stdout.write(f"course {name} deleted; its files are in {archive}")

    def archive(self, folder: Path, archive: Path, kept_as: str) -> None:
        """A rename; across filesystems, a copy that follows no symlink that students or
        instructors made (they stay links), and leaves out FIFOs, sockets and devices."""
        skipped = trees.move(folder.parent, folder.name, archive, kept_as).skipped
        if skipped:
            shown = ", ".join(skipped[:5]) + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
            self.stdout.write(f"{kept_as}: {len(skipped)} special file(s) not archived: {shown}")
