"""The exchange check: what students dropped in inbound reaches the instructors only if the
platform can vouch for it.

In stock nbgrader a student can `submit ps1 --student=<other>`, and collect only warns. Here the
instructors' container never sees the drop box: it sees `accepted/` as its inbound, and this check
is the only way in. A submission is accepted when it is complete (nbgrader's last step makes its
folder 0777) and its owner uid is the uid of the student its name claims; it is quarantined when
it is anything else: a spoof, over the course's size limit, holding symlinks, hard links or
special files (nbgrader's own copy never makes them), or left incomplete for an hour.

Its author keeps every power over a folder they own, even once it is out of their path's reach: a
descriptor opened before the move still creates, removes and links entries in it. So a
submission is never accepted as is: it is renamed into a root-only staging folder, looked at
again there, and what reaches `accepted/` is a fresh copy made by root, through descriptors that
follow no symlink (nbhosting.trees), owned by the instructors' uid and writable by them only. No
student ever held a descriptor on it; the original is then removed.

It runs as root on folders that students and instructors write, so it works through descriptors
opened without following symlinks, renames within one filesystem, and reads file contents only
to copy them.
"""
import fcntl
import logging
import os
import secrets
import shutil
import stat
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from nbhosting import trees
from nbhosting.exchange import layout
from nbhosting.exchange.containers import refresh_instructors_passwd
from nbhosting.exchange.models import NbgraderCourse
from nbhosting.workspaces.models import Student

log = logging.getLogger(__name__)
INCOMPLETE_AFTER = 3600  # seconds; a submit takes seconds
MAX_ENTRIES = 10_000
COPY = ".copy"  # beside the original in its staging folder; no nbgrader name starts with a dot


@dataclass(frozen=True)
class Verdict:
    name: str
    accepted: bool
    reason: str = ""


class Pending(Exception):
    """Still being written: looked at again by the next check."""


@dataclass(frozen=True)
class Folders:
    """Descriptors on the course's folders, opened once per check without following links."""
    inbound: int
    accepted: int
    staging: int
    quarantine: int


def parse(name: str) -> tuple[str, str] | None:
    """(student id, assignment) from nbgrader's `<student>+<assignment>+<timestamp>[+<random>]`."""
    parts = name.split("+")
    if len(parts) not in (3, 4) or not all(parts[:3]):
        return None
    return parts[0], parts[1]


def judge(inbound_fd: int, name: str, uids: dict[str, int]) -> str:
    """'' when the submission may go on to be copied, else why not. Raises Pending while it is
    written. Looks at the folder itself only: its contents are judged as they are copied."""
    info = os.stat(name, dir_fd=inbound_fd, follow_symlinks=False)
    if not stat.S_ISDIR(info.st_mode):
        return "not a folder"
    parsed = parse(name)
    if parsed is None:
        return "not named <student>+<assignment>+<timestamp> as nbgrader names submissions"
    student = parsed[0]
    if student not in uids:
        return f"names {student}, who is no student of this platform"
    if info.st_uid != uids[student]:
        owner = next((n for n, u in uids.items() if u == info.st_uid), f"uid {info.st_uid}")
        return f"names {student} but was submitted by {owner}"
    if stat.S_IMODE(info.st_mode) != 0o777:
        if time.time() - info.st_mtime > INCOMPLETE_AFTER:
            return "left incomplete"
        raise Pending(name)
    return ""


def copy_problem(staged_fd: int, copy_fd: int, uid: int, owner: Student, limit_bytes: int) -> str:
    """Copies the staged submission into the empty folder copy_fd, checking every entry as it is
    opened; '' when the copy is whole and may be accepted, else why not."""
    info = os.fstat(staged_fd)
    if info.st_uid != uid or stat.S_IMODE(info.st_mode) != 0o777:
        return "changed while it was checked"
    if "timestamp.txt" not in os.listdir(staged_fd):
        return "is not a complete nbgrader submission (no timestamp.txt)"
    rules = trees.Rules(owner=(owner.uid, owner.gid), strict=True, only_uid=uid, limit_bytes=limit_bytes,
                        max_entries=MAX_ENTRIES, plain_modes=True)
    try:
        trees.copy(staged_fd, copy_fd, rules)
    except trees.TooLarge as exc:
        return f"is over the course's size limit ({exc.total // 1000} kB > {exc.limit // 1000} kB)"
    except trees.Refused as exc:
        return str(exc)
    os.fchown(copy_fd, owner.uid, owner.gid)
    os.fchmod(copy_fd, 0o755)
    os.utime(copy_fd, ns=(info.st_atime_ns, info.st_mtime_ns))
    return ""


@contextmanager
def _one_checker(nbgrader: NbgraderCourse) -> Iterator[None]:
    """The timer and an instructor's open may check the same course at once: one at a time."""
    with open(layout.generated_dir(nbgrader.course) / "check.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def run(nbgrader: NbgraderCourse) -> list[Verdict]:
    """Checks every submission in the course's drop box; moves each to accepted/ or quarantine/."""
    owner = layout.ensure(nbgrader.course)
    with _one_checker(nbgrader):
        return _check(nbgrader, owner)


def _check(nbgrader: NbgraderCourse, owner: Student) -> list[Verdict]:
    course = nbgrader.course
    # Every uid the instructors may meet in their course directory is named in their container.
    refresh_instructors_passwd(course)
    uids = dict(Student.objects.filter(uid__isnull=False).values_list("name", "uid"))
    verdicts = []
    with ExitStack() as fds:
        def opened(path, dir_fd=None) -> int:
            fd = layout.open_dir(path, dir_fd)
            fds.callback(os.close, fd)
            return fd

        exchange_fd = opened(layout.exchange_dir(course))
        folders = Folders(inbound=opened("inbound", exchange_fd), accepted=opened("accepted", exchange_fd),
                          staging=opened(layout.staging_dir(course)),
                          quarantine=opened(layout.course_dir(course) / "quarantine"))
        _recover(folders, owner)
        for name in sorted(os.listdir(folders.inbound)):
            try:
                verdict = _settle(folders, name, nbgrader.size_limit_bytes, uids, owner)
            except Pending:
                continue
            except FileNotFoundError:
                continue  # its author removed it meanwhile
            except OSError as exc:  # a full disk, say: this one waits in inbound for the next check
                log.error("%s: %s could not be checked: %s", course.name, name, exc)
                continue
            if not verdict.accepted:
                log.warning("%s: quarantined %s: it %s", course.name, name, verdict.reason)
            verdicts.append(verdict)
    return verdicts


def _settle(folders: Folders, name: str, limit: int, uids: dict[str, int], owner: Student) -> Verdict:
    reason = judge(folders.inbound, name, uids)
    if reason:
        _quarantine(folders.inbound, folders.quarantine, name, reason, owner)
        return Verdict(name, accepted=False, reason=reason)
    # Out of its author's path first: from here on, only a descriptor they already hold reaches it.
    token = secrets.token_hex(8)
    os.mkdir(token, 0o700, dir_fd=folders.staging)
    box = layout.open_dir(token, folders.staging)
    try:
        os.rename(name, name, src_dir_fd=folders.inbound, dst_dir_fd=box)
    except OSError:
        os.close(box)
        os.rmdir(token, dir_fd=folders.staging)
        raise
    try:
        reason = _accept(folders, box, name, uids[parse(name)[0]], limit, owner)
        if reason:
            _quarantine(box, folders.quarantine, name, reason, owner)
    except OSError:
        _give_back(folders, box, name, owner)  # if this fails too, the next check's _recover does it
        raise
    finally:
        os.close(box)
    _discard(folders.staging, token)
    return Verdict(name, accepted=not reason, reason=reason)


def _accept(folders: Folders, box: int, name: str, uid: int, limit: int, owner: Student) -> str:
    """Copies the staged submission and renames the copy into accepted/; '' once it is there."""
    try:
        staged = layout.open_dir(name, box)
    except OSError as exc:
        if exc.errno in trees.SWAPPED:  # a symlink or a file took the folder's name after judge()
            return "changed while it was checked"
        raise
    try:
        os.mkdir(COPY, 0o700, dir_fd=box)
        copy = layout.open_dir(COPY, box)
        try:
            reason = copy_problem(staged, copy, uid, owner, limit)
        finally:
            os.close(copy)
    finally:
        os.close(staged)
    if not reason and not _free(folders.accepted, name):
        reason = "has the name of a submission already accepted"
    if not reason:
        os.rename(COPY, name, src_dir_fd=box, dst_dir_fd=folders.accepted)
    return reason


def _give_back(folders: Folders, box: int, name: str, owner: Student) -> None:
    """After a failure of the platform's own (not of the submission): back to inbound, as it was,
    for the next check; if its name was taken meanwhile, to quarantine."""
    if _free(folders.inbound, name):
        os.rename(name, name, src_dir_fd=box, dst_dir_fd=folders.inbound)
    else:
        _quarantine(box, folders.quarantine, name, "could not be checked", owner)


def _recover(folders: Folders, owner: Student) -> None:
    """A check killed halfway leaves its staging folder: the submission in it goes back to inbound
    (it is checked again), the rest is removed."""
    for token in os.listdir(folders.staging):
        try:
            box = layout.open_dir(token, folders.staging)
        except OSError:
            _discard(folders.staging, token)
            continue
        try:
            for name in os.listdir(box):
                if name != COPY:
                    _give_back(folders, box, name, owner)
        except OSError as exc:
            log.error("staged %s not recovered yet: %s", token, exc)
            continue
        finally:
            os.close(box)
        _discard(folders.staging, token)


def _discard(dir_fd: int, name: str) -> None:
    """Removes a staged tree; its author may still be adding to it through a descriptor, so a
    failure is logged and the next check tries again."""
    try:
        shutil.rmtree(name, dir_fd=dir_fd)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("staged %s not removed yet: %s", name, exc)


def _free(dir_fd: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return True
    return False


def _quarantine(from_fd: int, quarantine_fd: int, name: str, reason: str, owner: Student) -> None:
    """Moves the entry beside a note that says why, for the instructors; its top folder becomes
    theirs, so that its author can no longer add to it through a descriptor they kept."""
    target = name
    while not _free(quarantine_fd, target) or not _free(quarantine_fd, target + ".why"):
        target = f"{name}.{time.time_ns()}"
    os.rename(name, target, src_dir_fd=from_fd, dst_dir_fd=quarantine_fd)
    try:
        fd = layout.open_dir(target, quarantine_fd)
    except OSError:
        pass  # not a folder: nothing to add to
    else:
        try:
            os.fchown(fd, owner.uid, owner.gid)
            os.fchmod(fd, 0o700)
        finally:
            os.close(fd)
    note = os.open(target + ".why", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644,
                   dir_fd=quarantine_fd)
    try:
        os.write(note, f"{name}: refused by the platform: it {reason}.\n".encode())
    finally:
        os.close(note)
