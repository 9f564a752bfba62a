import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.utils import timezone

from nbhosting import trees
from nbhosting.cli import NbhCommand, find_course
from nbhosting.containers import lifecycle
from nbhosting.exchange import inbound, layout
from nbhosting.pool import upkeep
from nbhosting.workspaces.models import Student


class Command(NbhCommand):
    help = ("Delete a course. Its repo, the students' workspaces and its nbgrader exchange and course "
            "directory are archived, never destroyed.")

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--force", action="store_true", help="stop and remove running containers first")

    def handle(self, name, force, **options):
        course = find_course(name)
        try:  # each under its pair's lease: an open under way finishes first, or the deletion stops
            lifecycle.remove_course_containers(course, "course deleted", force=force)
        except lifecycle.ContainersRunning as exc:
            raise CommandError(str(exc)) from None
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
        identities = upkeep.unclaimed_identities(course)
        course.delete()
        Student.objects.filter(pk__in=identities).delete()
        self.stdout.write(f"course {name} deleted; its files are in {archive}")

    def archive(self, folder: Path, archive: Path, kept_as: str) -> None:
        """A rename; across filesystems, a copy that follows no symlink that students or
        instructors made (they stay links), and leaves out FIFOs, sockets and devices."""
        skipped = trees.move(folder.parent, folder.name, archive, kept_as).skipped
        if skipped:
            shown = ", ".join(skipped[:5]) + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
            self.stdout.write(f"{kept_as}: {len(skipped)} special file(s) not archived: {shown}")
