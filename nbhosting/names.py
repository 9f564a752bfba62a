"""Validation of everything that comes from a URL or a command line, and the names derived from it.

Every name here ends up in a path, a container name or a podman label, so the grammars are strict:
anything else is refused before any file, row or container exists.
"""
import re
from pathlib import PurePosixPath

# Always used with fullmatch: "$" would let a trailing newline through.
# Course names are chosen by admins; "-x-" is reserved as the course/student separator in
# container names, so that <course>-x-<student> can be split back unambiguously.
COURSE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
# Student ids come from the LMS; the grammar is podman's container-name grammar.
STUDENT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# Identities the platform names itself start with "_", which no student id can: a course's
# instructors (_instructors-<course>), a staff member's own workspace (_staff-<username>) and a
# warm pool's server waiting for a new student (_pool-<token>, see nbhosting/pool).
STAFF_PREFIX = "_staff-"
POOL_PREFIX = "_pool-"
IDENTITY_RE = re.compile(r"_(instructors|staff|pool)-[A-Za-z0-9][A-Za-z0-9_.-]{0,50}")
POOL_TOKEN_RE = re.compile(r"[0-9a-f]{16}")
# One notebook path segment: no control characters, no slash, not "." or "..".
SEGMENT_RE = re.compile(r"[^\x00-\x1f\x7f/\\]{1,200}")
MAX_PATH_SEGMENTS = 16

NOTEBOOK_SUFFIXES = (".ipynb", ".md", ".py")


class InvalidName(ValueError):
    """A name or path that must be refused with a readable message (HTTP 400, or exit 2)."""


def validate_course(name: str) -> str:
    if not COURSE_RE.fullmatch(name) or "-x-" in name or name.endswith("."):
        raise InvalidName(
            f"invalid course name {name!r}: use 1-40 letters, digits, '_', '.', '-', "
            "starting with a letter or digit, without '-x-'"
        )
    return name


def validate_student(student: str) -> str:
    if not STUDENT_RE.fullmatch(student):
        raise InvalidName(
            f"invalid student id {student!r}: use 1-64 letters, digits, '_', '.', '-', "
            "starting with a letter or digit"
        )
    return student


def validate_identity(name: str) -> str:
    """A student id, or one of the platform's own identities (as `nbh container-stop` takes)."""
    if STUDENT_RE.fullmatch(name) or IDENTITY_RE.fullmatch(name):
        return name
    return validate_student(name)


def staff_identity(username: str) -> str:
    """The identity a staff member's own workspace runs as: never an LMS student's id, even when
    the dashboard account has the same name as a student."""
    name = STAFF_PREFIX + username
    if not IDENTITY_RE.fullmatch(name):
        raise InvalidName(f"the username {username!r} cannot name a workspace: use 1-50 letters, digits, "
                          "'_', '.', '-', starting with a letter or digit")
    return name


def pool_identity(token: str) -> str:
    """The identity of one warm pool server; the token is the platform's own, never a URL's."""
    if not POOL_TOKEN_RE.fullmatch(token):
        raise InvalidName(f"invalid pool token {token!r}")
    return POOL_PREFIX + token


def is_pool_identity(name: str) -> bool:
    return name.startswith(POOL_PREFIX) and POOL_TOKEN_RE.fullmatch(name[len(POOL_PREFIX):]) is not None


def validate_notebook_path(path: str) -> PurePosixPath:
    """A relative path inside a course; refuses '..', absolute paths, NUL and control characters."""
    if not path or path.startswith("/") or len(path) > 1000:
        raise InvalidName(f"invalid notebook path {path!r}: it must be relative to the course")
    segments = path.split("/")
    if len(segments) > MAX_PATH_SEGMENTS:
        raise InvalidName(f"invalid notebook path {path!r}: too deep")
    for segment in segments:
        if segment in ("", ".", "..") or not SEGMENT_RE.fullmatch(segment) or segment.startswith("."):
            raise InvalidName(
                f"invalid notebook path {path!r}: no empty, '.', '..' or hidden segments, "
                "no control characters"
            )
    return PurePosixPath(path)


def container_name(course: str, student: str) -> str:
    return f"{course}-x-{student}"
