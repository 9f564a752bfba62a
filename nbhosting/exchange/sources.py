"""nbgrader's sources (the assignments with their solutions) are the instructors' alone.

Instructors keep them in the course directory, `<data>/nbgrader/<course>/source`, which only the
grading server mounts. Students mount the whole course repository at /course, so a repository
that holds nbgrader's `source/` folder at its top, while nbgrader is on, gets:
- in every student's container, /course/source and /course/.git masked by empty read-only folders
  from the container's start (the objects carry every version of the sources, and a pull may bring
  them at any time). Not a tmpfs: podman fills a tmpfs with what the folder under it holds
  ("tmpcopyup"), sources included;
- on the host, the repository's `source/` (and `.git/` once the history holds sources, during
  every pull too) made root's 0700, so that nothing run as a student's uid (the workspace copier,
  a classroom clone) reads them;
- from the gateway, 404 for a link into `source/` (directly or through a symlink), and 409 for
  classroom mode, since a clone carries the history;
- its `source/` copied into the instructors' course directory when theirs has none.
"""
import errno
import logging
import os
import secrets
import shutil
from pathlib import Path

import git

from nbhosting import trees
from nbhosting.containers.backend import Mount
from nbhosting.courses import repo
from nbhosting.courses.models import Course
from nbhosting.exchange import layout
from nbhosting.exchange.models import nbgrader_of
from nbhosting.folders import root_folder
from nbhosting.workspaces.models import Student
from nbhosting.workspaces.workspace import COURSE_MOUNT

log = logging.getLogger(__name__)
SOURCE = "source"  # nbgrader's CourseDirectory.source_directory, at the top of the course
GIT = ".git"
KEEP = ".nbhosting-keep"  # in source/: git never removes a folder that holds a file it does not track


def _listing(parent_fd: int, name: str) -> list[str] | None:
    """The entries of a real folder; None when there is none. Anything else under that name (a
    symlink, a file) counts as one entry: it may lead to sources."""
    try:
        fd = layout.open_dir(name, parent_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            return [name]
        raise
    try:
        return os.listdir(fd)
    finally:
        os.close(fd)


def holds_sources(course: Course) -> bool:
    """Whether the course's repository holds nbgrader sources now, or anywhere in its history."""
    try:
        repo_fd = layout.open_dir(course.repo_dir)
    except FileNotFoundError:
        return False  # no clone: nothing to hide
    try:
        if _listing(repo_fd, SOURCE):
            return True
    finally:
        os.close(repo_fd)
    try:
        return bool(git.Repo(course.repo_dir).git.log("--all", "-1", "--format=%H", "--", SOURCE).strip())
    except (git.GitCommandError, git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        log.warning("%s: history not readable (%s): taken as holding sources", course.name, exc)
        return True


def hidden(course: Course, path: Path) -> bool:
    """Whether a file of the course's repository is, or leads into, nbgrader's sources while
    nbgrader is on: no student gets it."""
    repo = course.repo_dir
    inside = (path.relative_to(repo).parts[:1] == (SOURCE,)
              or path.resolve().is_relative_to((repo / SOURCE).resolve()))
    return inside and nbgrader_of(course) is not None  # the query only for what is inside


def refuses_clone(course: Course) -> bool:
    """Classroom mode clones the whole history, sources included."""
    return nbgrader_of(course) is not None and holds_sources(course)


def _restrict(parent_fd: int, name: str, mode: int, create: bool) -> bool:
    """Sets a real folder's mode; creates it first if asked. False when there is no real folder."""
    if create:
        try:
            os.mkdir(name, 0o700, dir_fd=parent_fd)
        except FileExistsError:
            pass
    try:
        fd = layout.open_dir(name, parent_fd)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ELOOP, errno.ENOTDIR):
            return False
        raise
    try:
        os.fchmod(fd, mode)
    finally:
        os.close(fd)
    return True


def _empty(course: Course) -> Path:
    """Root's, 0555, mounted read-only: nothing is ever in it."""
    return root_folder(layout.generated_dir(course) / "empty", 0o555)


def hide(course: Course) -> list[Mount]:
    """Hides the sources from students: makes the repository's folders root's only on the host,
    and returns the masks of a student's container. Both masks are there from the container's
    start, whatever the repository holds then, so that what a later pull brings stays under them:
    the mount point /course/source always exists (an empty folder, which git ignores, kept from
    git's removal by a file of ours: a folder removed on the host would drop the mask in every
    running container), and /course/.git is masked even while the history holds no sources."""
    masks = []
    repo_fd = layout.open_dir(course.repo_dir)
    try:
        if _restrict(repo_fd, SOURCE, 0o700, create=True):
            _keep(repo_fd)
            masks.append(Mount(_empty(course), f"{COURSE_MOUNT}/{SOURCE}", read_only=True))
        else:
            log.warning("%s: its repository's %s is not a folder: not hidden", course.name, SOURCE)
        # Without sources in it, the history stays readable on the host: classroom clones use it.
        if _restrict(repo_fd, GIT, 0o700 if holds_sources(course) else 0o755, create=False):
            masks.append(Mount(_empty(course), f"{COURSE_MOUNT}/{GIT}", read_only=True))
    finally:
        os.close(repo_fd)
    return masks


def _keep(repo_fd: int) -> None:
    source_fd = layout.open_dir(SOURCE, repo_fd)
    try:
        os.close(os.open(KEEP, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600, dir_fd=source_fd))
    finally:
        os.close(source_fd)


def pull(course: Course) -> str:
    """Pulls the course; while nbgrader is on, its history is root's during the fetch (nothing run
    as a student reads what it brings) and stays so when it now holds sources. Students' containers
    see neither, whatever the pull brings: both are masked from their start."""
    if nbgrader_of(course) is None:
        return repo.pull(course)
    try:
        repo_fd = layout.open_dir(course.repo_dir)
    except FileNotFoundError:
        return repo.pull(course)  # no clone: the pull says so
    try:
        _restrict(repo_fd, GIT, 0o700, create=False)
    finally:
        os.close(repo_fd)
    try:
        return repo.pull(course)
    finally:
        hide(course)


def release(course: Course) -> None:
    """nbgrader off: the repository is an ordinary course again, readable as a whole (classroom
    mode clones it as the student's uid)."""
    try:
        repo_fd = layout.open_dir(course.repo_dir)
    except FileNotFoundError:
        return
    try:
        for name in (SOURCE, GIT):
            _restrict(repo_fd, name, 0o755, create=False)
    finally:
        os.close(repo_fd)


def import_sources(course: Course, owner: Student) -> bool:
    """Copies the repository's source/ into the instructors' course directory when theirs has
    none, owned by the instructors' uid. Returns True when it did."""
    try:
        repo_fd = layout.open_dir(course.repo_dir)
    except FileNotFoundError:
        return False
    try:
        if not _listing(repo_fd, SOURCE):
            return False
        try:
            source_fd = layout.open_dir(SOURCE, repo_fd)
        except OSError:
            return False  # a symlink or a file: nothing root copies
        try:
            return _import(course, source_fd, owner)
        finally:
            os.close(source_fd)
    finally:
        os.close(repo_fd)


def _import(course: Course, source_fd: int, owner: Student) -> bool:
    home = layout.open_dir(layout.course_dir(course))  # the instructors' own: nothing is followed in it
    try:
        try:
            os.stat(SOURCE, dir_fd=home, follow_symlinks=False)
            return False  # theirs, whatever it holds
        except FileNotFoundError:
            pass
        partial = f".source-import-{secrets.token_hex(6)}"
        os.mkdir(partial, 0o700, dir_fd=home)
        try:
            copy_fd = layout.open_dir(partial, home)
            try:
                trees.copy(source_fd, copy_fd, trees.Rules(owner=(owner.uid, owner.gid)))
                os.fchown(copy_fd, owner.uid, owner.gid)
                os.fchmod(copy_fd, 0o755)
            finally:
                os.close(copy_fd)
            os.rename(partial, SOURCE, src_dir_fd=home, dst_dir_fd=home)
        except OSError as exc:
            shutil.rmtree(partial, dir_fd=home, ignore_errors=True)
            log.error("%s: sources not imported: %s", course.name, exc)
            return False
        log.info("%s: the repository's %s/ imported into the instructors' course directory", course.name, SOURCE)
        return True
    finally:
        os.close(home)
