"""A student's private folder for one course: created by root, filled only as the student's uid."""
import json
import logging
import os
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from nbhosting.courses.models import Course
from nbhosting.folders import root_folder
from nbhosting.workspaces import quota
from nbhosting.workspaces.models import Student
from nbhosting.workspaces.notebooks import Notebook

log = logging.getLogger(__name__)
COPIER = Path(__file__).with_name("copier.py")
# The container's mount point of the course repo: a git-mode clone's "origin", so that a
# student can pull from inside a container that has no network.
COURSE_MOUNT = "/course"


class WorkspaceError(RuntimeError):
    pass


class WorkspaceConflict(WorkspaceError):
    """The workspace is in a state that the requested mode cannot use; nothing was changed."""


class WorkspaceFull(WorkspaceError):
    """The student's disk quota is reached: the copy or clone could not be written."""


# What a copy or clone prints when its writes hit the quota (EDQUOT), or a full filesystem.
FULL_MESSAGES = ("Disk quota exceeded", "No space left on device")


@dataclass(frozen=True)
class CopyResult:
    action: str  # created, existing or reset
    backup: str | None


def workspace_dir(course: Course, student: Student) -> Path:
    return course.workspaces_dir / student.name


def ensure(course: Course, student: Student) -> Path:
    """The workspace folder, owned by the student, mode 0700, with the course's disk quota; its
    parents are root's and only traversable, so no student can list who else has a workspace."""
    try:
        quota.check_mounted()
        root_folder(quota.workspaces_root(), 0o711)
        root_folder(course.workspaces_dir, 0o711)
        path = workspace_dir(course, student)
        disk = quota.driver()
        try:
            disk.create(path)  # a quota unit of its own: a subvolume, an XFS project, or a folder
        except FileExistsError:
            pass
        info = path.lstat()
        # Root-owned means a concurrent first open made it and has not chowned it yet: only the
        # platform creates entries in this root-owned folder, so finishing its work is safe.
        if not stat.S_ISDIR(info.st_mode) or info.st_uid not in (student.uid, 0):
            raise WorkspaceError(f"{path} is not a folder owned by uid {student.uid}")
        if info.st_uid == 0:
            # The limit first: the student's code never sees the folder without it.
            disk.limit(path, course.quota_bytes)
            os.chown(path, student.uid, student.gid, follow_symlinks=False)
    except quota.QuotaError as exc:
        raise WorkspaceError(str(exc)) from exc
    return path


def _git_trust_file() -> Path:
    path = settings.DATA_ROOT / "courses" / ".gitconfig"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("[safe]\n\tdirectory = *\n")
    return path


def _run_as(student: Student, args: list[str], cwd: Path, stdin: str | None = None,
            env: dict[str, str] | None = None) -> str:
    """Runs a command as the student's uid and gid, with no supplementary groups."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), "LANG": "C.UTF-8", "GIT_TERMINAL_PROMPT": "0", **(env or {})}
    proc = subprocess.run(
        args, cwd=cwd, input=stdin, capture_output=True, text=True, env=env, timeout=300,
        user=student.uid, group=student.gid, extra_groups=[], umask=0o022,
    )
    if proc.returncode != 0:
        full = any(message in proc.stderr for message in FULL_MESSAGES)
        raise (WorkspaceFull if full else WorkspaceError)(
            f"{args[0]} failed for {student.name}: {proc.stderr.strip()[-500:]}")
    return proc.stdout


def copy_notebook(course: Course, student: Student, notebook: Notebook, reset: bool) -> CopyResult:
    """First open copies the notebook (and its data folders); later opens leave the student's copy
    alone; reset copies it again and keeps the student's version beside it."""
    path = ensure(course, student)
    if not reset and os.path.lexists(path / notebook.target):
        # The common warm case, answered without starting a process: a look is harmless as root.
        return CopyResult("existing", None)
    target_dir = notebook.target.parent
    along = [
        {"source": str(notebook.source.parent / name), "target": str(target_dir / name)}
        for name in settings.NBH_COPY_ALONG
        if (notebook.source.parent / name).exists()
    ]
    plan = {
        "notebook": {"target": str(notebook.target), "source": str(notebook.source),
                     "content": notebook.content()},
        "along": along,
        "reset": reset,
        "stamp": timezone.now().strftime("%Y%m%d-%H%M%S"),
    }
    code = COPIER.read_text()
    output = _run_as(student, [sys.executable, "-I", "-S", "-c", code], path, json.dumps(plan))
    result = CopyResult(**json.loads(output))
    if result.action != "existing":
        log.info("%s/%s: %s %s", course.name, student.name, result.action, notebook.target)
    return result


def git_clone(course: Course, student: Student) -> bool:
    """Classroom mode: the workspace is a clone of the course. Returns True when it was cloned now."""
    path = ensure(course, student)
    if (path / ".git").exists():
        return False
    if any(path.iterdir()):
        raise WorkspaceConflict(
            f"the workspace of {student.name} in {course.name} already holds files that are not a "
            "git clone; ask staff to move them before using classroom mode"
        )
    # The course clone is root's: git refuses to read it as another uid unless told it is safe,
    # and a local clone drops `-c` settings, so the setting comes from a global config file.
    env = {"GIT_CONFIG_GLOBAL": str(_git_trust_file())}
    _run_as(student, ["git", "clone", "--quiet", str(course.repo_dir), "."], path, env=env)
    _run_as(student, ["git", "remote", "set-url", "origin", COURSE_MOUNT], path, env=env)
    log.info("%s/%s: cloned", course.name, student.name)
    return True
