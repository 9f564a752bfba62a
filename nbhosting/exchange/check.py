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

Each student drops their submissions in a box of their own (nbhosting.exchange.inbound), a quota
unit: staging and quarantine are in it too, so that a student who floods the exchange fills only
their own share, and their next submit fails with "Disk quota exceeded". What the check puts
outside the box is bounded as well: a student's accepted copies take at most the exchange quota
in all, and at most MAX_QUARANTINED of their refused submissions get a note for the instructors
(the rest are removed). The drop box of earlier versions, shared by all, is still drained.

It runs as root on folders that students and instructors write, so it works through descriptors
opened without following symlinks, renames within one filesystem, and reads file contents only
to copy them.
"""
import errno
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
from nbhosting.courses.models import Course
from nbhosting.exchange import inbound, layout
from nbhosting.exchange.containers import refresh_instructors_passwd
from nbhosting.exchange.models import NbgraderCourse
from nbhosting.workspaces.models import Student

log = logging.getLogger(__name__)
INCOMPLETE_AFTER = 3600  # seconds; a submit takes seconds
MAX_ENTRIES = 10_000
COPY = ".copy"  # beside the original in its staging folder; no nbgrader name starts with a dot
MAX_QUARANTINED = 100  # refused submissions kept per student box; past it they are removed


@dataclass(frozen=True)
class Verdict:
    name: str
    accepted: bool
    reason: str = ""


class Pending(Exception):
    """Still being written: looked at again by the next check."""


@dataclass(frozen=True)
class Folders:
    """Descriptors on one drop box's folders and the course's, opened without following links."""
    inbound: int
    accepted: int
    staging: int
    quarantine: int  # where refused submissions go: the box's own, or the course's for the old box
    notes: int  # where the instructors read why (the course directory's quarantine/)
    copies: int  # where copies are made, on accepted/'s filesystem (the old box's staging folder)
    student: str | None = None  # whose box; None: the old drop box shared by all
    share: int | None = None  # the box's exchange quota, in bytes: what its accepted copies may take


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


def copy_problem(staged_fd: int, copy_fd: int, uid: int, owner: Student, limit_bytes: int,
                 share_left: int | None = None) -> str:
    """Copies the staged submission into the empty folder copy_fd, checking every entry as it is
    opened; '' when the copy is whole and may be accepted, else why not. share_left: what the
    student's accepted copies may still take."""
    info = os.fstat(staged_fd)
    if info.st_uid != uid or stat.S_IMODE(info.st_mode) != 0o777:
        return "changed while it was checked"
    if "timestamp.txt" not in os.listdir(staged_fd):
        return "is not a complete nbgrader submission (no timestamp.txt)"
    over_share = share_left is not None and share_left < limit_bytes
    rules = trees.Rules(owner=(owner.uid, owner.gid), strict=True, only_uid=uid,
                        limit_bytes=share_left if over_share else limit_bytes,
                        max_entries=MAX_ENTRIES, plain_modes=True)
    try:
        trees.copy(staged_fd, copy_fd, rules)
    except trees.TooLarge as exc:
        if over_share:
            return ("would take the student's accepted submissions over their exchange quota "
                    f"({max(share_left, 0) // 1000} kB left)")
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
        def opened(path, dir_fd=None, stack=fds) -> int:
            fd = layout.open_dir(path, dir_fd)
            stack.callback(os.close, fd)
            return fd

        exchange_fd = opened(layout.exchange_dir(course))
        accepted = opened("accepted", exchange_fd)
        notes = opened(layout.course_dir(course) / "quarantine")
        copies = opened(layout.staging_dir(course))
        shared = Folders(inbound=opened("inbound", exchange_fd), accepted=accepted,
                         staging=copies, quarantine=notes, notes=notes, copies=copies)
        verdicts += _check_box(course, shared, nbgrader.size_limit_bytes, uids, owner)
        for student in inbound.boxes(course):
            with ExitStack() as box_fds:
                box = opened(inbound.boxes_dir(course) / student, stack=box_fds)
                folders = Folders(inbound=opened(inbound.INBOUND, box, box_fds), accepted=accepted,
                                  staging=opened(inbound.CHECKING, box, box_fds),
                                  quarantine=opened(inbound.QUARANTINE, box, box_fds), notes=notes,
                                  copies=copies, student=student, share=nbgrader.exchange_quota_bytes)
                verdicts += _check_box(course, folders, nbgrader.size_limit_bytes, uids, owner)
    return verdicts


def _check_box(course: Course, folders: Folders, limit: int, uids: dict[str, int], owner: Student) -> list[Verdict]:
    verdicts = []
    _recover(folders, owner)
    for name in sorted(os.listdir(folders.inbound)):
        try:
            verdict = _settle(folders, name, limit, uids, owner)
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


def accepted_bytes(accepted_fd: int, student: str) -> int:
    """What the student's accepted copies take (they are root's copies, the instructors' since)."""
    total = 0
    for entry in os.listdir(accepted_fd):
        if parse(entry) is None or parse(entry)[0] != student:
            continue
        try:
            top = layout.open_dir(entry, accepted_fd)
        except OSError:
            continue
        try:
            for _, _, files, folder_fd in os.fwalk(".", dir_fd=top, follow_symlinks=False):
                total += sum(os.stat(f, dir_fd=folder_fd, follow_symlinks=False).st_size for f in files)
        finally:
            os.close(top)
    return total


def _settle(folders: Folders, name: str, limit: int, uids: dict[str, int], owner: Student) -> Verdict:
    reason = judge(folders.inbound, name, uids)
    if not reason and folders.student is not None and parse(name)[0] != folders.student:
        reason = f"names {parse(name)[0]} but was found in {folders.student}'s drop box"
    if reason:
        reason = _quarantine(folders, folders.inbound, name, reason, owner)
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
            reason = _quarantine(folders, box, name, reason, owner)
    except OSError:
        _give_back(folders, box, name, owner)  # if this fails too, the next check's _recover does it
        raise
    finally:
        os.close(box)
    _discard(folders.staging, token)
    return Verdict(name, accepted=not reason, reason=reason)


def _accept(folders: Folders, box: int, name: str, uid: int, limit: int, owner: Student) -> str:
    """Copies the staged submission and renames the copy into accepted/; '' once it is there. The
    copy is made on accepted/'s own filesystem (a student's box is on the quota filesystem), in a
    folder of its own that the next check's recovery discards if this one dies."""
    try:
        staged = layout.open_dir(name, box)
    except OSError as exc:
        if exc.errno in trees.SWAPPED:  # a symlink or a file took the folder's name after judge()
            return "changed while it was checked"
        raise
    holder = secrets.token_hex(8)
    try:
        os.mkdir(holder, 0o700, dir_fd=folders.copies)
        hold = layout.open_dir(holder, folders.copies)
    except OSError:
        os.close(staged)
        raise
    try:
        try:
            os.mkdir(COPY, 0o700, dir_fd=hold)
            copy = layout.open_dir(COPY, hold)
            share_left = None
            if folders.share is not None and folders.student is not None:
                share_left = folders.share - accepted_bytes(folders.accepted, folders.student)
            try:
                reason = copy_problem(staged, copy, uid, owner, limit, share_left)
            finally:
                os.close(copy)
        finally:
            os.close(staged)
        if not reason and not _free(folders.accepted, name):
            reason = "has the name of a submission already accepted"
        if not reason:
            os.rename(COPY, name, src_dir_fd=hold, dst_dir_fd=folders.accepted)
    finally:
        os.close(hold)
        _discard(folders.copies, holder)
    return reason


def _give_back(folders: Folders, box: int, name: str, owner: Student) -> None:
    """After a failure of the platform's own (not of the submission): back to inbound, as it was,
    for the next check; if its name was taken meanwhile, to quarantine."""
    if _free(folders.inbound, name):
        os.rename(name, name, src_dir_fd=box, dst_dir_fd=folders.inbound)
    else:
        _quarantine(folders, box, name, "could not be checked", owner)


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
    """Removes a staged tree, or any other entry (a link itself, never its target); its author may
    still be adding to a tree through a descriptor, so a failure is logged and the next check
    tries again."""
    try:
        if stat.S_ISDIR(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode):
            shutil.rmtree(name, dir_fd=dir_fd)
        else:
            os.unlink(name, dir_fd=dir_fd)
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


def _quarantine(folders: Folders, from_fd: int, name: str, reason: str, owner: Student) -> str:
    """Moves the entry to the box's quarantine, with a note for the instructors that says why;
    its top folder becomes theirs, so that its author can no longer add to it through a descriptor
    they kept. Past MAX_QUARANTINED in a student's box, or when the box is too full for the rename,
    the entry is removed instead. Returns the
    reason, as the instructors read it."""
    if folders.student is not None and len(os.listdir(folders.quarantine)) >= MAX_QUARANTINED:
        _discard(from_fd, name)
        return f"{reason} (removed: {MAX_QUARANTINED} refused submissions of {folders.student} are kept already)"
    target = name
    while (not _free(folders.quarantine, target) or not _free(folders.notes, target + ".why")
           or not _free(folders.quarantine, target + ".why")):
        target = f"{name}.{time.time_ns()}"
    try:
        os.rename(name, target, src_dir_fd=from_fd, dst_dir_fd=folders.quarantine)
    except OSError as exc:
        if exc.errno != errno.EDQUOT:
            raise
        # A box at its quota has no room even for a rename's bookkeeping: what it refused goes.
        _discard(from_fd, name)
        return f"{reason} (removed: {folders.student}'s drop box is full)"
    try:
        fd = layout.open_dir(target, folders.quarantine)
    except OSError:
        pass  # not a folder: nothing to add to
    else:
        try:
            os.fchown(fd, owner.uid, owner.gid)
            os.fchmod(fd, 0o700)
        finally:
            os.close(fd)
    text = f"{name}: refused by the platform: it {reason}.\n"
    if folders.student is not None:
        text += (f"It is kept in the platform's exchange store, in {folders.student}'s share, "
                 "for the site's admins.\n")
    note = os.open(target + ".why", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644,
                   dir_fd=folders.notes)
    try:
        os.write(note, text.encode())
    finally:
        os.close(note)
    return reason
