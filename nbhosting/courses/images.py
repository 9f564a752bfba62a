"""A course's own image, built by the container backend from the Containerfile its teachers keep
in the repo."""
import hashlib
from pathlib import Path
from typing import IO

from django.utils import timezone

from nbhosting.containers.backend import BackendError, ImageBuild
from nbhosting.containers.backends import get_backend
from nbhosting.courses.models import Course

# Where teachers may put the file, in order of preference.
CONTAINERFILES = ("Containerfile", "nbhosting/Containerfile")
BUILD_TIMEOUT = 3600


class BuildError(RuntimeError):
    pass


def containerfile(course: Course) -> Path | None:
    for relative in CONTAINERFILES:
        path = course.repo_dir / relative
        # The repo is the teachers'; a symlink could point the build anywhere on the host.
        if path.is_file() and not path.is_symlink():
            return path
    return None


def containerfile_digest(course: Course) -> str | None:
    path = containerfile(course)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path else None


def build(course: Course, log: IO[str], no_cache: bool = False) -> str:
    """Builds the course image, streaming the build's output to `log`; records and returns its id."""
    path = containerfile(course)
    if path is None:
        raise BuildError(f"course {course.name} has no {' or '.join(CONTAINERFILES)} in its repo")
    request = ImageBuild(containerfile=path, context=path.parent, tag=course.built_image_tag, no_cache=no_cache,
                         labels={"nbhosting.course": course.name,
                                 "nbhosting.containerfile": containerfile_digest(course) or ""})
    try:
        image_id = get_backend().build_image(request, log, BUILD_TIMEOUT)
    except BackendError as exc:
        raise BuildError(str(exc)) from None
    course.image_built_at = timezone.now()
    course.image_id = image_id
    course.save(update_fields=["image_built_at", "image_id"])
    return image_id
