"""What a container of an nbgrader course gets on top of a student's: the exchange, nbgrader's
configuration, a passwd file that names its uid, nbgrader's server extensions, and for a student
the course's nbgrader sources hidden (nbhosting.exchange.sources) and their own drop box as
inbound (nbhosting.exchange.inbound).

Every container of the course mounts only its own course's exchange folder, under a root that is
a private 1777 tmpfs (nbgrader insists that the root be writable by all). nbgrader takes the
student id from the OS user name, so the passwd file names the uid after the platform's student
id. The instructors' container also names every student uid of the course, sees the accepted
submissions (the exchange check's copies, theirs) as inbound, and holds the course directory.
"""
import os
from pathlib import Path

from nbhosting.containers import jupyter
from nbhosting.containers.backend import Mount, Tmpfs
from nbhosting.containers.spawn import Extras
from nbhosting.courses.models import Course
from nbhosting.exchange import inbound, layout, sources
from nbhosting.exchange.models import NbgraderCourse, nbgrader_of
from nbhosting.workspaces.models import Student
from nbhosting.workspaces.workspace import ensure as ensure_workspace

EXCHANGE_ROOT = "/srv/nbgrader/exchange"
CONFIG_IN_CONTAINER = "/etc/jupyter/nbgrader_config.py"
# The default image turns nbgrader's frontend off for every other course.
PAGE_CONFIG_IN_CONTAINER = "/etc/jupyter/labconfig/page_config.json"
PAGE_CONFIG = '{"disabledExtensions": {"@jupyterlab/lsp-extension": true, "@jupyter/nbgrader": false}}\n'

NBGRADER_DEFAULT_DIR_KB = 100_000
STUDENT_EXTENSIONS = {"assignment_list", "validate_assignment"}
INSTRUCTOR_EXTENSIONS = STUDENT_EXTENSIONS | {"formgrader"}
ALL_EXTENSIONS = ("formgrader", "assignment_list", "course_list", "validate_assignment")


def course_dir_in_container(course: Course) -> str:
    return f"{jupyter.HOME}/{course.name}"


def extras(course: Course, student: Student) -> Extras:
    """Nothing for a course without nbgrader. The exchange app registers it with the spawn (apps.py)."""
    nbgrader = nbgrader_of(course)
    if nbgrader is None:
        return Extras()
    owner = layout.ensure(course)
    instructor = student.pk == owner.pk
    exchange = f"{EXCHANGE_ROOT}/{course.name}"
    mounts = [
        Mount(layout.exchange_dir(course), exchange),
        Mount(write_config(nbgrader, instructor), CONFIG_IN_CONTAINER, read_only=True),
        Mount(write_passwd(course, student), "/etc/passwd", read_only=True),
        Mount(write_page_config(course), PAGE_CONFIG_IN_CONTAINER, read_only=True),
    ]
    if instructor:
        mounts += [
            Mount(layout.exchange_dir(course) / "accepted", f"{exchange}/inbound"),
            Mount(layout.course_dir(course), course_dir_in_container(course)),
        ]
        _mount_point(ensure_workspace(course, student), course.name, student.uid)
        sources.import_sources(course, owner)
    else:
        # Over the shared drop box: the student's own, limited by the exchange quota.
        mounts.append(Mount(inbound.ensure(nbgrader, student), f"{exchange}/inbound"))
        mounts += sources.hide(course)
    return Extras(
        mounts=mounts,
        tmpfs=[Tmpfs(EXCHANGE_ROOT)],
        jupyter_args=extension_flags(INSTRUCTOR_EXTENSIONS if instructor else STUDENT_EXTENSIONS),
    )


def extension_flags(enabled: set[str]) -> list[str]:
    """nbgrader's server extensions, on or off one by one. The command line replaces the image's
    whole table of extensions, so it also restates the default image's choice of jupyter_lsp."""
    flags = ["--ServerApp.jpserver_extensions", "jupyter_lsp=False"]
    for name in ALL_EXTENSIONS:
        flags += ["--ServerApp.jpserver_extensions", f"nbgrader.server_extensions.{name}={name in enabled}"]
    return flags


def config_text(nbgrader: NbgraderCourse, instructor: bool) -> str:
    course = nbgrader.course
    lines = [
        f"# nbgrader's configuration for {course.name}, written by nbhosting (edits are overwritten).",
        "c = get_config()  # noqa: F821",
        f"c.CourseDirectory.course_id = {course.name!r}",
        f"c.Exchange.root = {EXCHANGE_ROOT!r}",
    ]
    if instructor:
        # Collecting an accepted submission must never fail on the size check again.
        limit = max(nbgrader.size_limit_kb, NBGRADER_DEFAULT_DIR_KB)
        lines += [f"c.CourseDirectory.root = {course_dir_in_container(course)!r}",
                  f"c.CourseDirectory.max_dir_size = {limit}",
                  # Accepted submissions are the platform's copies, owned by the instructors' uid:
                  # the exchange check did the owner check, and collect takes the student id from
                  # the folder's name, which the check vouched for.
                  "c.ExchangeCollect.check_owner = False"]
    else:
        # nbgrader refuses a larger submission itself, before it copies anything to inbound; the
        # exchange check enforces the same limit on whatever bypasses this file.
        lines += [f"c.CourseDirectory.max_dir_size = {nbgrader.size_limit_kb}"]
    return "\n".join(lines) + "\n"


def write_config(nbgrader: NbgraderCourse, instructor: bool) -> Path:
    role = "instructors" if instructor else "students"
    path = layout.generated_dir(nbgrader.course) / f"nbgrader_config-{role}.py"
    write_in_place(path, config_text(nbgrader, instructor))
    return path


def write_page_config(course: Course) -> Path:
    path = layout.generated_dir(course) / "page_config.json"
    write_in_place(path, PAGE_CONFIG)
    return path


def passwd_text(people: list[Student]) -> str:
    entries = ["root:x:0:0:root:/root:/bin/sh", "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin"]
    entries += [f"{p.name}:x:{p.uid}:{p.gid}::{jupyter.HOME}:/bin/bash" for p in people if p.uid is not None]
    return "\n".join(entries) + "\n"


def write_passwd(course: Course, student: Student) -> Path:
    """The student's own entry only; the instructors' container gets every student of the course."""
    people = [student]
    if student.pk == layout.instructors(course).pk:
        people += list(Student.objects.filter(containers__course=course).exclude(pk=student.pk).order_by("pk"))
    path = layout.generated_dir(course) / f"passwd-{student.name}"
    write_in_place(path, passwd_text(people))
    return path


def refresh_instructors_passwd(course: Course) -> None:
    """Students who opened the course since the instructors' container started become known to it
    (the file is bind-mounted, so it is rewritten in place rather than replaced)."""
    write_passwd(course, layout.instructors(course))


def write_in_place(path: Path, text: str) -> None:
    """Rewrites a bind-mounted file through its inode: a replaced file would stay unseen by
    the containers that mount it. Readers never see it empty."""
    data = text.encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    try:
        os.fchmod(fd, 0o644)
        os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))
    finally:
        os.close(fd)


def _mount_point(home: Path, name: str, uid: int) -> None:
    """The course directory's mount point in the instructors' home: theirs, not one that the
    container engine would create as root."""
    home_fd = layout.open_dir(home)
    try:
        try:
            os.mkdir(name, 0o755, dir_fd=home_fd)
        except FileExistsError:
            pass
        fd = layout.open_dir(name, home_fd)
        os.fchown(fd, uid, uid)
        os.close(fd)
    finally:
        os.close(home_fd)
