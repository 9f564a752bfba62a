"""The exchange check: what students dropped in inbound reaches the instructors only if the
platform can vouch for it.

In stock nbgrader a student can `submit ps1 --student=<other>`, and collect only warns. Here the
instructors' container never sees the drop box: it sees `accepted/` as its inbound, and this check
is the only way in. A submission is accepted when it is complete (nbgrader's last step makes its
folder 0777) and its owner uid is the uid of the student its name claims; it is quarantined when
it is anything else: a spoof, over the course's size limit, holding symlinks or special files
(nbgrader's own copy never makes them), or left incomplete for an hour.

It runs as root on folders that students and instructors write, so it works through descriptors
opened without following symlinks, renames within one filesystem, and never reads file contents.
"""
import fcntl
import logging
import os
import stat
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from nbhosting.exchange import layout
from nbhosting.exchange.containers import refresh_instructors_passwd
from nbhosting.exchange.models import NbgraderCourse
from nbhosting.workspaces.models import Student

log = logging.getLogger(__name__)
INCOMPLETE_AFTER = 3600  # seconds; a submit takes seconds
MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class Verdict:
    name: str
    accepted: bool
    reason: str = ""


class Pending(Exception):
    """Still being written: looked at again by the next check."""


def parse(name: str) -> tuple[str, str] | None:
    """(student id, assignment) from nbgrader's `<student>+<assignment>+<timestamp>[+<random>]`."""
    parts = name.split("+")
    if len(parts) not in (3, 4) or not all(parts[:3]):
        return None
    return parts[0], parts[1]


def judge(inbound_fd: int, name: str, limit_bytes: int, uids: dict[str, int]) -> str:
    """'' when the submission may be collected, else why not. Raises Pending while it is written."""
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
    return _contents_problem(inbound_fd, name, info.st_uid, limit_bytes)


def _contents_problem(inbound_fd: int, name: str, uid: int, limit_bytes: int) -> str:
    fd = layout.open_dir(name, inbound_fd)
    try:
        if "timestamp.txt" not in os.listdir(fd):
            return "is not a complete nbgrader submission (no timestamp.txt)"
        total, entries = 0, 0
        for _path, subdirs, files, dir_fd in os.fwalk(dir_fd=fd, follow_symlinks=False):
            for entry in files + subdirs:
                entries += 1
                info = os.stat(entry, dir_fd=dir_fd, follow_symlinks=False)
                if stat.S_ISLNK(info.st_mode):
                    return "holds a symlink"
                if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
                    return "holds a special file"
                if info.st_uid != uid:
                    return "holds files of another user"
                total += info.st_size if stat.S_ISREG(info.st_mode) else 0
            if total > limit_bytes:
                return f"is over the course's size limit ({total // 1000} kB > {limit_bytes // 1000} kB)"
            if entries > MAX_ENTRIES:
                return f"holds more than {MAX_ENTRIES} files"
        return ""
    finally:
        os.close(fd)


@contextmanager
def _one_checker(nbgrader: NbgraderCourse) -> Iterator[None]:
    """The timer and an instructor's open may check the same course at once: one at a time."""
    with open(layout.generated_dir(nbgrader.course) / "check.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def run(nbgrader: NbgraderCourse) -> list[Verdict]:
    """Checks every submission in the course's drop box; moves each to accepted/ or quarantine/."""
    layout.ensure(nbgrader.course)
    with _one_checker(nbgrader):
        return _check(nbgrader)


def _check(nbgrader: NbgraderCourse) -> list[Verdict]:
    course = nbgrader.course
    # Collect checks each owner's name: every uid it may meet must be named in the instructors' container.
    refresh_instructors_passwd(course)
    uids = dict(Student.objects.filter(uid__isnull=False).values_list("name", "uid"))
    verdicts = []
    with ExitStack() as fds:
        def opened(path, dir_fd=None) -> int:
            fd = layout.open_dir(path, dir_fd)
            fds.callback(os.close, fd)
            return fd

        exchange_fd = opened(layout.exchange_dir(course))
        inbound_fd, accepted_fd = opened("inbound", exchange_fd), opened("accepted", exchange_fd)
        quarantine_fd = opened(layout.course_dir(course) / "quarantine")
        for name in sorted(os.listdir(inbound_fd)):
            try:
                verdict = _settle(inbound_fd, accepted_fd, quarantine_fd, name, nbgrader.size_limit_bytes, uids)
            except Pending:
                continue
            except FileNotFoundError:
                continue  # its author removed it meanwhile
            if not verdict.accepted:
                log.warning("%s: quarantined %s: it %s", course.name, name, verdict.reason)
            verdicts.append(verdict)
    return verdicts


def _settle(inbound_fd: int, accepted_fd: int, quarantine_fd: int, name: str, limit: int,
            uids: dict[str, int]) -> Verdict:
    reason = judge(inbound_fd, name, limit, uids)
    if not reason and _free(accepted_fd, name):
        os.rename(name, name, src_dir_fd=inbound_fd, dst_dir_fd=accepted_fd)
        return Verdict(name, accepted=True)
    reason = reason or "has the name of a submission already accepted"
    _quarantine(inbound_fd, quarantine_fd, name, reason)
    return Verdict(name, accepted=False, reason=reason)


def _free(dir_fd: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return True
    return False


def _quarantine(inbound_fd: int, quarantine_fd: int, name: str, reason: str) -> None:
    """Moves the entry out of the drop box, beside a note that says why, for the instructors."""
    target = name
    while not _free(quarantine_fd, target) or not _free(quarantine_fd, target + ".why"):
        target = f"{name}.{time.time_ns()}"
    os.rename(name, target, src_dir_fd=inbound_fd, dst_dir_fd=quarantine_fd)
    note = os.open(target + ".why", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644,
                   dir_fd=quarantine_fd)
    try:
        os.write(note, f"{name}: refused by the platform: it {reason}.\n".encode())
    finally:
        os.close(note)
