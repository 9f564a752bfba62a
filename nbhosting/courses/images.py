"""A course's own image, built with podman from the Containerfile its teachers keep in the repo."""
import hashlib
import subprocess
from pathlib import Path
from typing import IO

from django.utils import timezone

from nbhosting.containers.podman import backend
from nbhosting.courses.models import Course

# Where teachers may put the file, in order of preference.
CONTAINERFILES = ("Containerfile", "nbhosting/Containerfile")
# The host's CA bundle, so that pip inside the build trusts the same proxies as the host.
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
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


def build_command(course: Course, path: Path, no_cache: bool) -> list[str]:
    command = [
        "podman", "build", "--network", "host",
        "-v", f"{CA_BUNDLE}:{CA_BUNDLE}:ro", "--build-arg", f"PIP_CERT={CA_BUNDLE}",
        "--label", f"nbhosting.course={course.name}",
        "--label", f"nbhosting.containerfile={containerfile_digest(course)}",
        "-f", str(path), "-t", course.built_image_tag,
    ]
    if no_cache:
        command.append("--no-cache")
    return command + [str(path.parent)]


def build(course: Course, log: IO[str], no_cache: bool = False) -> str:
    """Builds the course image, streaming podman's output to `log`; records and returns its id."""
    path = containerfile(course)
    if path is None:
        raise BuildError(f"course {course.name} has no {' or '.join(CONTAINERFILES)} in its repo")
    command = build_command(course, path, no_cache)
    log.write("$ " + " ".join(command) + "\n")
    log.flush()
    try:
        returncode = subprocess.run(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, timeout=BUILD_TIMEOUT
        ).returncode
    except subprocess.TimeoutExpired:
        raise BuildError(f"the build took more than {BUILD_TIMEOUT}s and was stopped") from None
    if returncode != 0:
        raise BuildError(f"podman build failed (exit {returncode})")
    image_id = backend().image_id(course.built_image_tag) or ""
    course.image_built_at = timezone.now()
    course.image_id = image_id
    course.save(update_fields=["image_built_at", "image_id"])
    return image_id
