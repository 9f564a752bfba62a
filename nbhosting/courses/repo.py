"""The course's git clone on the host: created once, then pulled. Read-only for students."""
import logging
import shutil
from pathlib import Path

import git
from django.utils import timezone

from nbhosting.courses.models import Course
from nbhosting.folders import root_folder

log = logging.getLogger(__name__)
GIT_TIMEOUT = 300


class RepoError(RuntimeError):
    pass


def _short(exc: git.GitCommandError) -> str:
    """git's own one-line reason ("fatal: ..."), without GitPython's wrapping."""
    lines = [line.strip(" '\n") for line in str(exc.stderr or exc).splitlines()]
    lines = [line.removeprefix("stderr: ").strip("'") for line in lines if line]
    fatal = [line for line in lines if line.startswith(("fatal:", "error:"))]
    return (fatal or lines or [str(exc)])[-1]


def clone(course: Course) -> str:
    """Clones the course repo; leaves nothing behind on failure. Returns the commit."""
    target = course.repo_dir
    if target.exists():
        raise RepoError(f"{target} already exists")
    root_folder(target.parent, 0o755)
    options = {"branch": course.branch} if course.branch else {}
    try:
        repo = git.Repo.clone_from(course.git_url, target, kill_after_timeout=GIT_TIMEOUT, **options)
    except git.GitCommandError as exc:
        shutil.rmtree(target.parent, ignore_errors=True)
        raise RepoError(f"cannot clone {course.git_url}: {_short(exc)}") from None
    return _record(course, repo)


def pull(course: Course) -> str:
    """Fetches and moves to the remote branch; the clone is the platform's, never edited by hand,
    so a teacher's force-push must not wedge it. Returns the commit."""
    try:
        repo = git.Repo(course.repo_dir)
        _follow_settings(course, repo)
        repo.remotes.origin.fetch(kill_after_timeout=GIT_TIMEOUT)
        repo.git.reset("--hard", "@{upstream}")
    except (git.GitCommandError, git.NoSuchPathError, git.InvalidGitRepositoryError) as exc:
        detail = _short(exc) if isinstance(exc, git.GitCommandError) else f"no clone at {course.repo_dir}"
        raise RepoError(f"cannot pull course {course.name}: {detail}") from None
    return _record(course, repo)


def _follow_settings(course: Course, repo: git.Repo) -> None:
    """The dashboard may have changed the course's URL or branch since the clone was made."""
    origin = repo.remotes.origin
    if origin.url != course.git_url:
        origin.set_url(course.git_url)
    if course.branch and (repo.head.is_detached or repo.active_branch.name != course.branch):
        origin.fetch(kill_after_timeout=GIT_TIMEOUT)
        repo.git.checkout("-B", course.branch, "--track", f"origin/{course.branch}")


def _record(course: Course, repo: git.Repo) -> str:
    course.commit = repo.head.commit.hexsha
    course.pulled_at = timezone.now()
    course.save(update_fields=["commit", "pulled_at"])
    log.info("course %s at %s", course.name, course.commit[:12])
    return course.commit


def remove(course: Course) -> None:
    shutil.rmtree(Path(course.repo_dir).parent, ignore_errors=True)
