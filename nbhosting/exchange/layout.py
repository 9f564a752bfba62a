"""Where an nbgrader course lives on the host, and who owns it.

    <data>/exchange/<course>/          the exchange course folder, owned by the instructors' uid, 0755
        outbound/  0755                released assignments: instructors write, students read
        inbound/   3733                the drop box of earlier versions, no longer mounted: each
                                       student's container mounts their own box over it
                                       (nbhosting.exchange.inbound), limited by the exchange quota
        feedback/  0711                released feedback, named by hashes only the author can compute
        accepted/  0700                what the exchange check let through, as copies that the
                                       instructors' uid owns: the instructors' container sees it as
                                       inbound, so collect never sees the rest
    <data>/exchange/.checking/<course>/  root's, 0700: where the exchange check took a submission of
                                       the old drop box out of its author's reach
    <data>/nbgrader/<course>/          the nbgrader course directory (source, release, submitted,
                                       autograded, feedback, gradebook.db), shared by all instructors
        quarantine/                    submissions the exchange check refused, with a .why file each
    <data>/run/nbgrader/<course>/      generated, root's: nbgrader configs and passwd files

The platform creates every folder before any container exists, so that no student can squat the
course folder before the first release. All instructors of a course run as one uid, allocated like
a student's, under a name outside the student grammar so that no LMS id can ever take it.
"""
import os
from pathlib import Path

from django.conf import settings

from nbhosting.courses.models import Course
from nbhosting.folders import root_folder
from nbhosting.trees import open_dir
from nbhosting.workspaces.models import Student, get_or_create_account

EXCHANGE_MODES = {"outbound": 0o755, "inbound": 0o3733, "feedback": 0o711, "accepted": 0o700}


def instructors_name(course: Course) -> str:
    return f"_instructors-{course.name}"


def instructors(course: Course) -> Student:
    """The identity every instructor of the course runs as, with its uid."""
    return get_or_create_account(instructors_name(course))


def is_instructors_identity(student: Student) -> bool:
    return student.name.startswith("_instructors-")


def exchange_dir(course: Course) -> Path:
    return settings.DATA_ROOT / "exchange" / course.name


def course_dir(course: Course) -> Path:
    return settings.DATA_ROOT / "nbgrader" / course.name


def generated_dir(course: Course) -> Path:
    return settings.DATA_ROOT / "run" / "nbgrader" / course.name


def staging_dir(course: Course) -> Path:
    """On the exchange's filesystem (submissions are renamed in and out), but in no container.
    Course names start with a letter or digit, so ".checking" is no course's folder."""
    return settings.DATA_ROOT / "exchange" / ".checking" / course.name


def ensure_folder(parent_fd: int, name: str, uid: int, mode: int) -> None:
    try:
        os.mkdir(name, 0o700, dir_fd=parent_fd)
    except FileExistsError:
        pass
    fd = open_dir(name, parent_fd)
    try:
        os.fchown(fd, uid, uid)
        os.fchmod(fd, mode)  # nbgrader would make inbound 2733: the sticky bit is ours
    finally:
        os.close(fd)


def ensure(course: Course) -> Student:
    """Creates or repairs the course's folders and their modes; returns the instructors' identity."""
    owner = instructors(course)
    for path, mode in ((exchange_dir(course).parent, 0o755), (course_dir(course).parent, 0o711),
                       (generated_dir(course), 0o755), (staging_dir(course).parent, 0o700),
                       (staging_dir(course), 0o700)):
        root_folder(path, mode)
    for parent, name, mode in ((exchange_dir(course).parent, course.name, 0o755),
                               (course_dir(course).parent, course.name, 0o700)):
        fd = open_dir(parent)
        try:
            ensure_folder(fd, name, owner.uid, mode)
        finally:
            os.close(fd)
    fd = open_dir(exchange_dir(course))
    try:
        for name, mode in EXCHANGE_MODES.items():
            ensure_folder(fd, name, owner.uid, mode)
    finally:
        os.close(fd)
    fd = open_dir(course_dir(course))
    try:
        ensure_folder(fd, "quarantine", owner.uid, 0o700)
    finally:
        os.close(fd)
    return owner
