"""A student's private folder for one course: created by root, filled only as the student's uid."""
import json
import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from nbhosting.courses.models import Course
from nbhosting.folders import root_folder
from nbhosting.names import NOTEBOOK_SUFFIXES
from nbhosting.workspaces import quota
from nbhosting.workspaces.models import NotebookVersion, Student, Sync, latest_sync
from nbhosting.workspaces.notebooks import Notebook, blob_id

log = logging.getLogger(__name__)
COPIER = Path(__file__).with_name("copier.py")
GITSYNC = Path(__file__).with_name("gitsync.py")
READER = Path(__file__).with_name("reader.py")
DROPPER = Path(__file__).with_name("dropper.py")
ZIPPER = Path(__file__).with_name("zipper.py")
READ_LIMIT = 50_000_000
# The container's mount point of the course repo: a git-mode clone's "origin", so that a
# student can pull from inside a container that has no network.
COURSE_MOUNT = "/course"


class WorkspaceError(RuntimeError):
    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail or message  # the command's own words, for the student


class WorkspaceConflict(WorkspaceError):
    """The workspace is in a state that the requested mode cannot use; nothing was changed."""


class WorkspaceFull(WorkspaceError):
    """The student's disk quota is reached: the copy or clone could not be written."""


# What a copy or clone prints when its writes hit the quota (EDQUOT), or a full filesystem.
FULL_MESSAGES = ("Disk quota exceeded", "No space left on device")


class CopyFailed(WorkspaceError):
    """The course's files could not be copied; what the copy had made is removed."""


@dataclass(frozen=True)
class CopyResult:
    action: str  # created, existing or reset
    backup: str | None
    mtime_ns: int | None = None  # the new copy's, when one was made
    size: int | None = None


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
            env: dict[str, str] | None = None, offline: bool = False) -> str:
    """Runs a command as the student's uid and gid, with no supplementary groups. `offline` is for
    commands that may run what the student controls (git in their repository): they get a network
    namespace of their own, with no network, and cannot gain privileges, as in their container."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), "LANG": "C.UTF-8", "GIT_TERMINAL_PROMPT": "0", **(env or {})}
    if offline:  # root until setpriv, which drops to the student before anything else runs
        args = ["unshare", "--net", "--", "setpriv", f"--reuid={student.uid}", f"--regid={student.gid}",
                "--clear-groups", "--no-new-privs", "--", *args]
        ids = {}
    else:
        ids = {"user": student.uid, "group": student.gid, "extra_groups": []}
    proc = subprocess.run(args, cwd=cwd, input=stdin, capture_output=True, text=True, env=env, timeout=300,
                          umask=0o022, **ids)
    if proc.returncode != 0:
        what = args[0] if not offline else args[args.index("--", 3) + 1]
        detail = proc.stderr.strip()[-500:]
        full = any(message in proc.stderr for message in FULL_MESSAGES)
        raise (WorkspaceFull if full else WorkspaceError)(f"{what} failed for {student.name}: {detail}", detail)
    return proc.stdout


def _as_student(student: Student) -> dict:
    return {"user": student.uid, "group": student.gid, "extra_groups": [], "umask": 0o022,
            "env": {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}}


def read_file(course: Course, student: Student, path: str, limit: int = READ_LIMIT) -> bytes:
    """One file of the workspace, read as the student without following any link (reader.py)."""
    folder = ensure(course, student)
    plan = json.dumps({"path": path, "limit": limit}).encode()
    proc = subprocess.run([sys.executable, "-I", "-S", "-c", READER.read_text()], cwd=folder, capture_output=True,
                          input=plan, timeout=120, **_as_student(student))
    if proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip()[-300:]
        raise WorkspaceError(f"cannot read {path} of {student.name}: {detail}", detail)
    return proc.stdout


def zip_stream(course: Course, student: Student, chunk: int = 1 << 16) -> Iterator[bytes]:
    """A zip of the workspace's visible files, made as the student (zipper.py), as it is written.
    Closing the iterator early (the browser went away) ends the process."""
    folder = ensure(course, student)
    proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", ZIPPER.read_text()], cwd=folder,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            **_as_student(student))

    def chunks() -> Iterator[bytes]:
        try:
            while data := proc.stdout.read(chunk):
                yield data
        finally:
            proc.stdout.close()
            if proc.poll() is None:
                proc.kill()
            proc.wait()

    return chunks()


def drop_files(course: Course, student: Student, files: list[dict], dry_run: bool) -> list[dict]:
    """Puts staff's files into the workspace as the student (dropper.py says how), or, for a dry
    run, says what it would do. A workspace that does not exist yet is not made by a dry run."""
    if dry_run and not os.path.lexists(workspace_dir(course, student)):
        return [{"path": f["path"], "action": "create", "detail": "no workspace yet"} for f in files]
    path = ensure(course, student)
    plan = {"dry_run": dry_run, "files": files}
    return json.loads(_run_as(student, [sys.executable, "-I", "-S", "-c", DROPPER.read_text()], path, json.dumps(plan)))


# Descriptors that never follow a link: root looks at what a student controls through these only.
_WALK = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _present(folder: Path, relative: PurePosixPath) -> bool:
    """Whether the student's copy is there, looked up as root one folder at a time without
    following any link. A link (or a file) where a folder should be answers False: root never
    looks through it, and the copier, running as the student, decides what it means."""
    fd = os.open(folder, _WALK)
    try:
        for part in relative.parts[:-1]:
            inner = os.open(part, _WALK, dir_fd=fd)
            os.close(fd)
            fd = inner
        os.stat(relative.name, dir_fd=fd, follow_symlinks=False)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _along(course: Course, notebook: Notebook) -> list[dict[str, str]]:
    """The folders beside the notebook that come with it (data/, media/...): real folders and
    files of the course only. A link is never taken, even one that stays inside the course, and
    nothing that resolves outside the repo is."""
    repo = course.repo_dir.resolve()
    items = []
    for name in settings.NBH_COPY_ALONG:
        source = notebook.source.parent / name
        try:
            kind = stat.S_IFMT(source.lstat().st_mode)
        except FileNotFoundError:
            continue
        if kind not in (stat.S_IFDIR, stat.S_IFREG) or not source.resolve().is_relative_to(repo):
            log.warning("%s: %s is a link or not a plain folder of the course; not copied",
                        course.name, source.relative_to(course.repo_dir))
            continue
        items.append({"source": str(source), "target": str(notebook.target.parent / name)})
    return items


def copy_notebook(course: Course, student: Student, notebook: Notebook, reset: bool) -> CopyResult:
    """First open copies the notebook (and its data folders); later opens leave the student's copy
    alone; reset copies it again and keeps the student's version beside it."""
    path = ensure(course, student)
    if not reset and _present(path, notebook.target):
        # The common warm case, answered without starting a process.
        return CopyResult("existing", None)
    plan = {
        "repo": str(course.repo_dir),
        "notebook": {"target": str(notebook.target), "source": str(notebook.source),
                     "content": notebook.content()},
        "along": _along(course, notebook),
        "reset": reset,
        "stamp": timezone.now().strftime("%Y%m%d-%H%M%S"),
    }
    code = COPIER.read_text()
    answer = json.loads(_run_as(student, [sys.executable, "-I", "-S", "-c", code], path, json.dumps(plan)))
    if "error" in answer:
        message = answer["message"]
        if answer["error"] == "conflict":
            raise WorkspaceConflict(message)
        raise (WorkspaceFull if any(full in message for full in FULL_MESSAGES) else CopyFailed)(message)
    result = CopyResult(**answer)
    if result.action != "existing":
        log.info("%s/%s: %s %s", course.name, student.name, result.action, notebook.target)
        _record_copy(course, student, notebook, result)
    return result


def _record_copy(course: Course, student: Student, notebook: Notebook, result: CopyResult) -> None:
    NotebookVersion.objects.update_or_create(
        course=course, student=student, path=str(notebook.source.relative_to(course.repo_dir)),
        defaults={"target": str(notebook.target), "digest": blob_id(notebook.source), "differs": False,
                  "mtime_ns": result.mtime_ns, "size": result.size})


def _git_env(course: Course) -> dict[str, str]:
    """git's settings for the runs in a student's repository. Command-line settings win over the
    repository's own: no hooks, no fsmonitor, no transport but local files. The clone's origin is
    the course's mount point in the container; here it is the course's clone on the host."""
    forced = {
        f"url.{course.repo_dir}.insteadOf": COURSE_MOUNT,
        "core.hooksPath": "/dev/null",
        "core.fsmonitor": "false",
        "protocol.allow": "never",
        "protocol.file.allow": "always",
        "commit.gpgSign": "false",
    }
    env = {"GIT_CONFIG_GLOBAL": str(_git_trust_file()), "GIT_CONFIG_NOSYSTEM": "1", "GIT_EDITOR": "true",
           "GIT_MERGE_AUTOEDIT": "no", "GIT_PAGER": "cat", "GIT_LITERAL_PATHSPECS": "1",
           "GIT_CONFIG_COUNT": str(len(forced))}
    for n, (key, value) in enumerate(forced.items()):
        env[f"GIT_CONFIG_KEY_{n}"], env[f"GIT_CONFIG_VALUE_{n}"] = key, value
    return env


def _git_sync(course: Course, student: Student, action: str) -> dict:
    """Runs gitsync.py (clone or merge) in the workspace, as the student, offline."""
    plan = {"action": action, "repo": str(course.repo_dir), "mount": COURSE_MOUNT, "suffixes": NOTEBOOK_SUFFIXES}
    # -I: neither the environment nor the current folder (the student's) can change what python imports.
    output = _run_as(student, [sys.executable, "-I", "-c", GITSYNC.read_text()], workspace_dir(course, student),
                     json.dumps(plan), env=_git_env(course), offline=True)
    return json.loads(output)


def is_clone(course: Course, student: Student) -> bool:
    return os.path.lexists(workspace_dir(course, student) / ".git")


# Run as the workspace's own uid: empties its folder without ever following a link out of it,
# and reaches nothing the uid could not delete anyway.
_EMPTIER = """
import os, shutil
def writable(function, name, _exc_info):
    os.chmod(os.path.dirname(name), 0o700)
    function(name)
for entry in os.scandir("."):
    if entry.is_dir(follow_symlinks=False):
        os.chmod(entry.name, 0o700)
        shutil.rmtree(entry.name, onerror=writable)
    else:
        os.remove(entry.name)
"""


def remove(course: Course, student: Student) -> bool:
    """Deletes a workspace: emptied as its own uid, then the empty folder removed by root through
    a descriptor on its root-owned parent, following nothing. False when there was none."""
    try:
        parent = os.open(course.workspaces_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        try:
            info = os.stat(student.name, dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            return False
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != student.uid:
            raise WorkspaceError(f"{course.name}/{student.name} is not a folder owned by uid {student.uid}")
        _run_as(student, [sys.executable, "-I", "-S", "-c", _EMPTIER], workspace_dir(course, student))
        os.rmdir(student.name, dir_fd=parent)
    finally:
        os.close(parent)
    log.info("%s/%s: workspace removed", course.name, student.name)
    return True


def git_clone(course: Course, student: Student) -> bool:
    """Classroom mode: the workspace becomes a clone of the course. Returns True when it was cloned
    now. A workspace that holds files already (opened through MOOC links first) is adopted in
    place, its files kept as they are: those that differ from the course's become the student's
    local changes, which later merges keep (gitsync.clone says how)."""
    path = ensure(course, student)
    if os.path.lexists(path / ".git"):
        return False
    result = _git_sync(course, student, "clone")
    record_sync(course, student, result)
    log.info("%s/%s: %s", course.name, student.name, result["action"])
    return True


def behind(course: Course, student: Student) -> bool:
    """Whether the course moved on since the workspace's last clone or merge: one query, so that
    an open with nothing new stays as fast as a warm open."""
    last = latest_sync(course.pk, student.pk)
    return last is None or last.commit != course.commit


def git_merge(course: Course, student: Student) -> Sync:
    """Merges the course into the student's clone (nbgitpuller's merge, as the student). A failure
    leaves the student's files as they were and is recorded, with its reason, for the student."""
    ensure(course, student)
    last = latest_sync(course.pk, student.pk)
    try:
        result = _git_sync(course, student, "merge")
    except WorkspaceError as exc:
        log.warning("%s/%s: merge failed: %s", course.name, student.name, exc)
        return Sync.objects.create(course=course, student=student, kind=Sync.Kind.FAILED, commit=course.commit,
                                   before=last.commit if last else "", error=exc.detail[:2000])
    sync = record_sync(course, student, result)
    log.info("%s/%s: %s %s..%s", course.name, student.name, sync.kind, sync.before[:12], sync.commit[:12])
    return sync


def record_sync(course: Course, student: Student, result: dict) -> Sync:
    """The report for the student, and the notebooks' versions as the workspace now holds them."""
    with transaction.atomic():
        sync = Sync.objects.create(
            course=course, student=student, kind=result["action"], commit=result["commit"],
            before=result["before"] or "", updated=result["updated"], kept=result["kept"],
            renamed=result["renamed"], seen=result["action"] in (Sync.Kind.CLONED, Sync.Kind.UNCHANGED))
        # The clone now says what every course notebook is (a MOOC copy's row included).
        NotebookVersion.objects.filter(course=course, student=student).delete()
        NotebookVersion.objects.bulk_create(NotebookVersion(
            course=course, student=student, path=n["path"], target=n["path"], digest=n["digest"],
            differs=n["differs"], mtime_ns=n["mtime_ns"], size=n["size"]) for n in result["notebooks"])
    return sync
