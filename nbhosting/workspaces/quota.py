"""Disk quotas of the students' workspaces, so that no student can fill the disk for everyone.

Each workspace is its own quota unit, made by the driver that suits the filesystem holding
<data>/workspaces (or the one NBH_QUOTA_DRIVER names):
- btrfs: the workspace is a subvolume, limited by its quota group (`btrfs qgroup limit`);
- xfs: the workspace carries its own project id, limited by an XFS project quota (`xfs_quota`);
- none: a plain folder, unlimited (the filesystem has no quotas, or the site chose so).

Every call to a tool is an argument list, on a path the platform built from validated names and
opened without following links. A workspace made as a plain folder before quotas existed keeps
working, unlimited: `limit` says so and the usage report shows it.
"""
import fcntl
import functools
import logging
import os
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from django.conf import settings

from nbhosting.courses.models import Course

log = logging.getLogger(__name__)
# install.sh leaves this file in the folder it mounts the workspaces' filesystem on: seen, it says
# that the filesystem is not mounted, and that a workspace made now would land on the host's disk.
UNMOUNTED_MARK = ".nbh-unmounted"
TOOL_TIMEOUT = 60


class QuotaError(RuntimeError):
    """The quota of a workspace could not be made, set or read."""


@dataclass(frozen=True)
class Usage:
    used: int  # bytes
    limit: int | None  # bytes; None: unlimited

    @property
    def full(self) -> float:
        return self.used / self.limit if self.limit else 0.0


class Driver(Protocol):
    name: str

    def create(self, path: Path) -> None:
        """A new empty folder, root's, mode 0700, that can carry a limit; FileExistsError when
        something exists at path already (a concurrent open made it)."""

    def limit(self, path: Path, limit: int | None) -> bool:
        """Sets the folder's limit; False when it cannot carry one (a plain folder)."""

    def usage(self, paths: list[Path]) -> dict[Path, Usage]:
        """The usage of the folders that carry a quota; the others are left out."""


def _tool(args: list[str]) -> str:
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=TOOL_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise QuotaError(f"{args[0]} failed: {exc}") from exc
    if proc.returncode != 0:
        raise QuotaError(f"{' '.join(args[:3])} failed: {proc.stderr.strip()[-300:]}")
    return proc.stdout


def _open_folder(path: Path) -> int:
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)


def _mkdir(path: Path) -> None:
    os.mkdir(path, 0o700)


class NoQuota:
    name = "none"

    def create(self, path: Path) -> None:
        _mkdir(path)

    def limit(self, path: Path, limit: int | None) -> bool:
        return False

    def usage(self, paths: list[Path]) -> dict[Path, Usage]:
        return {}


# -- btrfs --------------------------------------------------------------------------------------
BTRFS_FIRST_FREE_OBJECTID = 256  # the inode number of every subvolume's root folder
BTRFS_IOC_INO_LOOKUP = 0xD0009412  # _IOWR(0x94, 18, struct btrfs_ioctl_ino_lookup_args)


def btrfs_subvolume_id(path: Path) -> int | None:
    """The id of the subvolume whose root is path; None for a plain folder or a link."""
    try:
        fd = _open_folder(path)
    except OSError:
        return None
    try:
        if os.fstat(fd).st_ino != BTRFS_FIRST_FREE_OBJECTID:
            return None
        args = bytearray(struct.pack("QQ4080s", 0, BTRFS_FIRST_FREE_OBJECTID, b""))
        fcntl.ioctl(fd, BTRFS_IOC_INO_LOOKUP, args)
        return struct.unpack_from("Q", args)[0]
    except OSError:
        return None
    finally:
        os.close(fd)


def parse_qgroups(text: str) -> dict[int, Usage]:
    """`btrfs qgroup show -re --raw`: the level-0 groups by subvolume id, with referenced bytes and
    their limit."""
    groups = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 5 or not fields[0].startswith("0/") or not fields[1].isdigit():
            continue
        limit = int(fields[3]) if fields[3].isdigit() else None
        groups[int(fields[0][2:])] = Usage(used=int(fields[1]), limit=limit)
    return groups


class Btrfs:
    name = "btrfs"

    def create(self, path: Path) -> None:
        if os.path.lexists(path):
            raise FileExistsError(path)
        try:
            _tool(["btrfs", "subvolume", "create", str(path)])
        except QuotaError:
            if os.path.lexists(path):
                raise FileExistsError(path) from None
            raise
        os.chmod(path, 0o700)  # made 0755; its parent is root's, so nobody else names it meanwhile

    def limit(self, path: Path, limit: int | None) -> bool:
        if btrfs_subvolume_id(path) is None:
            return False
        _tool(["btrfs", "qgroup", "limit", str(limit) if limit else "none", str(path)])
        return True

    def usage(self, paths: list[Path]) -> dict[Path, Usage]:
        ids = {path: btrfs_subvolume_id(path) for path in paths}
        if not any(ids.values()):
            return {}
        groups = parse_qgroups(_tool(["btrfs", "qgroup", "show", "-re", "--raw", str(workspaces_root())]))
        return {path: groups[i] for path, i in ids.items() if i in groups}


# -- xfs ----------------------------------------------------------------------------------------
FS_IOC_FSGETXATTR = 0x801C581F
FS_IOC_FSSETXATTR = 0x401C5820
FSXATTR = "5I8s"  # xflags, extsize, nextents, projid, cowextsize, padding
FS_XFLAG_PROJINHERIT = 0x200
PROJECTS_FILE = ".nbh-xfs-projects"
FIRST_PROJECT = 1_000_000


def mount_point(path: Path) -> Path:
    device = path.stat().st_dev
    while path.parent != path and path.parent.stat().st_dev == device:
        path = path.parent
    return path


def xfs_project(path: Path) -> int:
    fd = _open_folder(path)
    try:
        return struct.unpack(FSXATTR, fcntl.ioctl(fd, FS_IOC_FSGETXATTR, bytes(28)))[3]
    finally:
        os.close(fd)


class Xfs:
    """Project quotas: each workspace gets a project id of its own, inherited by all it holds.
    Untested on the machine this was written on, whose kernel cannot mount XFS with prjquota."""
    name = "xfs"

    def _next_project(self, mount: Path) -> int:
        # One counter per filesystem, under a lock: concurrent first opens get distinct ids.
        fd = os.open(mount / PROJECTS_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            text = os.read(fd, 32).decode().strip()
            project = int(text) + 1 if text.isdigit() else FIRST_PROJECT
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, f"{project}\n".encode())
            return project
        finally:
            os.close(fd)

    def create(self, path: Path) -> None:
        _mkdir(path)
        project = self._next_project(mount_point(path.parent))
        fd = _open_folder(path)
        try:
            attrs = list(struct.unpack(FSXATTR, fcntl.ioctl(fd, FS_IOC_FSGETXATTR, bytes(28))))
            attrs[0] |= FS_XFLAG_PROJINHERIT
            attrs[3] = project
            fcntl.ioctl(fd, FS_IOC_FSSETXATTR, struct.pack(FSXATTR, *attrs))
        except OSError as exc:
            raise QuotaError(f"cannot set the project id of {path}: {exc}") from exc
        finally:
            os.close(fd)

    def limit(self, path: Path, limit: int | None) -> bool:
        project = xfs_project(path)
        if project == 0:
            return False
        kilobytes = -(-limit // 1024) if limit else 0  # 0: no limit
        _tool(["xfs_quota", "-x", "-c", f"limit -p bhard={kilobytes}k {project}", str(mount_point(path))])
        return True

    def usage(self, paths: list[Path]) -> dict[Path, Usage]:
        projects = {path: xfs_project(path) for path in paths}
        if not any(projects.values()):
            return {}
        report = _tool(["xfs_quota", "-x", "-c", "report -p -b -N", str(mount_point(workspaces_root()))])
        found = {}
        for line in report.splitlines():
            fields = line.split()  # #project used soft hard warn/grace, in kilobytes
            if len(fields) >= 4 and fields[0].startswith("#") and fields[0][1:].isdigit():
                hard = int(fields[3]) * 1024
                found[int(fields[0][1:])] = Usage(used=int(fields[1]) * 1024, limit=hard or None)
        return {path: found[p] for path, p in projects.items() if p in found}


# -- choice -------------------------------------------------------------------------------------
DRIVERS: dict[str, type] = {"btrfs": Btrfs, "xfs": Xfs, "none": NoQuota}


def workspaces_root() -> Path:
    return settings.DATA_ROOT / "workspaces"


def check_mounted() -> None:
    if (workspaces_root() / UNMOUNTED_MARK).exists():
        raise QuotaError(f"the workspaces' filesystem is not mounted at {workspaces_root()}; rerun install.sh")


def _mount_of(path: Path) -> tuple[str, set[str]]:
    """(filesystem type, mount options) of the mount that holds path."""
    best, found = "", ("", set())
    with open("/proc/self/mounts") as mounts:
        for line in mounts:
            _, target, kind, options, *_ = line.split()
            target = target.replace("\\040", " ")
            if (str(path) == target or str(path).startswith(target.rstrip("/") + "/")) and len(target) >= len(best):
                best, found = target, (kind, set(options.split(",")))
    return found


@functools.lru_cache(maxsize=8)
def _detect(path: Path, device: int) -> str:
    kind, options = _mount_of(path)
    if kind == "btrfs":
        try:
            _tool(["btrfs", "qgroup", "show", "--raw", str(path)])
            return "btrfs"
        except QuotaError as exc:
            log.warning("%s is on btrfs without quotas, so workspaces are unlimited: %s", path, exc)
    if kind == "xfs" and options & {"prjquota", "pquota", "pqnoenforce"}:
        return "xfs"
    return "none"


def driver() -> Driver:
    name = settings.NBH_QUOTA_DRIVER
    if name == "auto":
        root = workspaces_root()
        while not root.exists():  # not made yet: it will be on its parent's filesystem
            root = root.parent
        name = _detect(root, root.stat().st_dev)
    if name not in DRIVERS:
        raise QuotaError(f"unknown NBH_QUOTA_DRIVER {name!r}: use auto, btrfs, xfs or none")
    return DRIVERS[name]()


# -- a course's workspaces ----------------------------------------------------------------------
def workspaces(course: Course) -> list[Path]:
    folder = course.workspaces_dir
    if not folder.is_dir():
        return []
    return sorted(folder / entry.name for entry in os.scandir(folder)
                  if entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."))


def apply(course: Course) -> tuple[int, list[str]]:
    """Sets the course's current limit on each of its workspaces: (how many got it, the plain
    folders that cannot carry one)."""
    paths = workspaces(course)
    if not paths:
        return 0, []
    disk, limit = driver(), course.quota_bytes
    applied, plain = 0, []
    for path in paths:
        if disk.limit(path, limit):
            applied += 1
        else:
            plain.append(path.name)
    return applied, plain


def usage(course: Course) -> dict[str, Usage]:
    """The usage of each workspace of the course that carries a quota, by student name."""
    paths = workspaces(course)
    found = driver().usage(paths) if paths else {}
    return {path.name: value for path, value in found.items()}

