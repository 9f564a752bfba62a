"""A new student's first open takes a warm server of the course's pool: its container, its secret
and its uid become the student's, without a restart.

Every door makes the student's row (and points an LMS identity or an account at it) before the
open, so "new" cannot mean "no row yet". It means: owns nothing anywhere yet, i.e. no container row
in any course and no workspace folder in any course. Then nothing on the host carries the
student's uid, which is why the uid can change: the student's row takes the slot's uid, and its
own, never used, is retired with the slot's identity row (uids are never reused, so a file that
a racing request made with the old uid belongs to nobody, never to another student).

One transaction, conditional UPDATEs: the slot goes FREE -> CLAIMED (two students never take one
slot), the container row goes to the student only while it runs and no lease is held (no start,
stop or removal under way), the student's uid changes only from the value checked (two claims of
one student in two courses: one wins), and the workspace folder is renamed from `_pool-<token>` to
the student's name, as root through a descriptor of the course's root-owned workspaces folder,
following no link. A bind mount holds the folder's inode, so the running server sees the same
folder under its new name (on btrfs the subvolume and its quota group go with it). The container
keeps its name, its socket, configuration and link (keyed by its name and secret); its labels
still name the pool identity, so a later start makes it again (containers/spawn.py)."""
import logging
import os
import stat

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from nbhosting.containers.models import Container
from nbhosting.courses.models import Course
from nbhosting.exchange.models import nbgrader_of
from nbhosting.names import STUDENT_RE, is_pool_identity
from nbhosting.pool.models import Slot
from nbhosting.workspaces.models import Student

log = logging.getLogger(__name__)
CANDIDATES = 8  # slots tried, oldest first, before the open goes the usual way


class _Lost(Exception):
    """The slot, or the student's newness, went to someone else meanwhile: roll back."""


def claim(course: Course, student: Student) -> Container | None:
    """The pool server that is now the student's, or None (the open goes the usual way). On
    success `student` holds its new uid."""
    if not STUDENT_RE.fullmatch(student.name) or student.uid is None:
        return None  # the platform's own identities never take a pool server
    if Container.objects.filter(student=student).exists():
        return None  # the common case, one query: the student has a server somewhere already
    slots = list(Slot.objects.filter(course=course, state=Slot.State.FREE, container__state=Container.State.RUNNING)
                 .order_by("created").values_list("pk", flat=True)[:CANDIDATES])
    if not slots or has_workspace(student) or nbgrader_of(course) is not None:
        return None
    for pk in slots:
        try:
            record = _take(course, student, pk)
        except _Lost as lost:
            log.info("pool claim of %s by %s lost: %s", course.name, student.name, lost)
            if str(lost) == "student":
                return None
            continue
        student.refresh_from_db()
        log.info("%s: %s claimed the pool server %s", course.name, student.name, record.name)
        return record
    return None


def has_workspace(student: Student) -> bool:
    """A workspace folder of the student's in any course (made by an open, a download, a staff drop)."""
    names = Course.objects.values_list("name", flat=True)
    return any(os.path.lexists(Course(name=name).workspaces_dir / student.name) for name in names)


def _take(course: Course, student: Student, slot_pk: int) -> Container:
    now = timezone.now()
    moved: tuple[Course, str, str] | None = None
    try:
        with transaction.atomic():
            if not Slot.objects.filter(pk=slot_pk, state=Slot.State.FREE).update(
                    state=Slot.State.CLAIMED, claimed=now, claimed_by=student.name):
                raise _Lost("slot")
            slot = Slot.objects.select_related("container__student").get(pk=slot_pk)
            record, identity = slot.container, slot.container.student
            if not is_pool_identity(identity.name) or identity.uid is None:
                raise _Lost("slot")
            if Container.objects.filter(student=student).exists():
                raise _Lost("student")
            unleased = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
            # last_open: the monitor's stop, decided before the claim, gives up (lifecycle.stop).
            if not Container.objects.filter(unleased, pk=record.pk, student=identity,
                                            state=Container.State.RUNNING).update(student=student, last_open=now):
                raise _Lost("slot")
            uid = identity.uid
            Student.objects.filter(pk=identity.pk).update(uid=None)
            if not Student.objects.filter(pk=student.pk, uid=student.uid).update(uid=uid):
                raise _Lost("student")
            rename_workspace(course, identity.name, student.name, uid)
            moved = (course, student.name, identity.name)
            identity.delete()  # its container is the student's now: nothing else is its
    except Exception:
        if moved is not None:  # the commit failed after the rename: put the folder back
            rename_workspace(moved[0], moved[1], moved[2], None)
        raise
    record.refresh_from_db()
    return record


def rename_workspace(course: Course, source: str, target: str, uid: int | None) -> None:
    """Renames a workspace inside the course's workspaces folder (root's, 0711: only the platform
    makes entries there), through a descriptor of it; neither name is followed. The source must be
    a folder of `uid` (None: whoever's, when undoing), the target must not exist."""
    for name in (source, target):
        if not (STUDENT_RE.fullmatch(name) or is_pool_identity(name)):
            raise _Lost(f"invalid workspace name {name!r}")
    parent = os.open(course.workspaces_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        try:
            info = os.stat(source, dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            raise _Lost(f"the pool's workspace {source} is gone") from None
        if not stat.S_ISDIR(info.st_mode) or (uid is not None and info.st_uid != uid):
            raise _Lost(f"the pool's workspace {source} is not a folder of uid {uid}")
        try:
            os.stat(target, dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            os.rename(source, target, src_dir_fd=parent, dst_dir_fd=parent)
            return
        raise _Lost("student")  # a workspace appeared meanwhile: the student is not new any more
    finally:
        os.close(parent)
