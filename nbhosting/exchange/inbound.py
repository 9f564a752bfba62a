"""Each student's drop box in an nbgrader course: a quota unit of its own, so that no student can
fill the disk, nor keep another from submitting.

    <data>/workspaces/.exchange/<course>/          root's, 0700, on the workspaces' quota filesystem
        <student>/                                 root's, 0755: a btrfs subvolume (or XFS project)
                                                   limited to the course's exchange quota
            inbound/     3733, the instructors'    mounted as the exchange's inbound in the student's
                                                   container only: nbgrader submit writes here
            checking/    0700, root's              where the exchange check takes a submission out
                                                   of its author's reach (a rename: same subvolume)
            quarantine/  0700, root's              what the check refused; it still counts against
                                                   its author's quota

Everything the student can write, directly or through a descriptor kept on a submission, is in
their own quota unit; the check's notes for the instructors are small and bounded in number.
Where the workspaces' filesystem has no quotas the boxes are plain folders, unlimited, as
workspaces are there. ".exchange" is no course name (course names start with a letter or digit).
"""
import os
from pathlib import Path

from nbhosting.courses.models import Course
from nbhosting.exchange import layout
from nbhosting.exchange.models import NbgraderCourse
from nbhosting.folders import root_folder
from nbhosting.trees import open_dir
from nbhosting.workspaces import quota
from nbhosting.workspaces.models import Student
from nbhosting.workspaces.workspace import WorkspaceError

INBOUND, CHECKING, QUARANTINE = "inbound", "checking", "quarantine"


def boxes_dir(course: Course) -> Path:
    return quota.workspaces_root() / ".exchange" / course.name


def box_dir(course: Course, student: Student) -> Path:
    return boxes_dir(course) / student.name


def ensure(nbgrader: NbgraderCourse, student: Student) -> Path:
    """The student's box with its limit and folders; returns the folder their container mounts as
    inbound (WorkspaceError when it cannot be made: the start fails as for a workspace). The limit
    is set before the inbound folder exists, so no write ever precedes it."""
    course = nbgrader.course
    owner = layout.instructors(course)
    try:
        quota.check_mounted()
        root_folder(quota.workspaces_root(), 0o711)
        root_folder(boxes_dir(course).parent, 0o700)
        root_folder(boxes_dir(course), 0o700)
        path = box_dir(course, student)
        disk = quota.driver()
        try:
            disk.create(path)
        except FileExistsError:
            pass
        fd = open_dir(path)  # root's folder, in root's 0700 parent: only the platform names it
        try:
            os.fchmod(fd, 0o755)
            try:
                os.stat(INBOUND, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                disk.limit(path, nbgrader.exchange_quota_bytes)
            layout.ensure_folder(fd, INBOUND, owner.uid, 0o3733)
            layout.ensure_folder(fd, CHECKING, 0, 0o700)
            layout.ensure_folder(fd, QUARANTINE, 0, 0o700)
        finally:
            os.close(fd)
    except quota.QuotaError as exc:
        raise WorkspaceError(f"the exchange drop box: {exc}") from exc
    return path / INBOUND


def boxes(course: Course) -> list[str]:
    """The students who have a box in the course, by name."""
    try:
        return sorted(entry.name for entry in os.scandir(boxes_dir(course)) if entry.is_dir(follow_symlinks=False))
    except FileNotFoundError:
        return []


def apply(nbgrader: NbgraderCourse) -> tuple[int, list[str]]:
    """Sets the course's current exchange quota on every box: (how many got it, the plain folders
    that cannot carry one)."""
    disk, limit = quota.driver(), nbgrader.exchange_quota_bytes
    applied, plain = 0, []
    for name in boxes(nbgrader.course):
        if disk.limit(boxes_dir(nbgrader.course) / name, limit):
            applied += 1
        else:
            plain.append(name)
    return applied, plain


def usage(course: Course) -> dict[str, quota.Usage]:
    """Each box's usage that carries a quota, by student name."""
    paths = [boxes_dir(course) / name for name in boxes(course)]
    found = quota.driver().usage(paths) if paths else {}
    return {path.name: value for path, value in found.items()}
