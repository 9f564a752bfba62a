"""Copying and moving folder trees as root, when someone else controls what is in them.

Students own their workspaces and submissions, instructors own their course directory: either may
plant a symlink, a hard link, a FIFO, or swap an entry while root works. So root never opens a
path by name from the top: every folder is a descriptor opened with O_NOFOLLOW, every entry is
opened relative to its folder's descriptor, also with O_NOFOLLOW, and judged by the fstat of what
was actually opened. A symlink is copied as a symlink (or refused), never followed; a FIFO, socket
or device is skipped (or refused), never opened for reading.
"""
import errno
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a FIFO swapped in after the lstat must not hang the copy.
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
CHUNK = 1 << 20
# The entry changed between the lstat and the open: a symlink (ELOOP), not a folder any more
# (ENOTDIR), gone (ENOENT), a socket (ENXIO).
SWAPPED = {errno.ELOOP, errno.ENOTDIR, errno.ENOENT, errno.ENXIO}


class Refused(Exception):
    """The tree holds what the rules forbid (the message says what, as "holds a symlink"). The
    partial copy must be discarded."""


class TooLarge(Refused):
    def __init__(self, total: int, limit: int) -> None:
        super().__init__(f"is over its size limit ({total} bytes > {limit})")
        self.total, self.limit = total, limit


@dataclass(frozen=True)
class Rules:
    owner: tuple[int, int] | None = None  # (uid, gid) of every copy; None keeps each source's
    strict: bool = False  # refuse links, special files and hard links instead of keeping/skipping
    only_uid: int | None = None  # strict: every entry must belong to this uid
    limit_bytes: int | None = None
    max_entries: int | None = None
    max_depth: int = 200  # three Python frames and two descriptors per level
    # 0755 folders and 0644 files (0755 when executable by its owner), writable by the new owner
    # only; otherwise each source's mode, without setuid and setgid on files.
    plain_modes: bool = False


@dataclass
class Totals:
    bytes: int = 0
    entries: int = 0
    skipped: list[str] = field(default_factory=list)  # special files left out, by relative path


def open_dir(path: Path | str, dir_fd: int | None = None) -> int:
    """A descriptor on a real folder: refuses a symlink in the last component."""
    return os.open(path, DIR_FLAGS, dir_fd=dir_fd)


def copy(src_fd: int, dst_fd: int, rules: Rules) -> Totals:
    """Copies what is inside the folder src_fd into the empty folder dst_fd (whose own owner and
    mode the caller sets). Raises Refused under strict rules, OSError on a real failure."""
    totals = Totals()
    _copy_dir(src_fd, dst_fd, rules, totals, "", 1)
    return totals


def move(src_parent: Path, name: str, dst_parent: Path, new_name: str) -> Totals:
    """Renames src_parent/name to dst_parent/new_name; across filesystems, copies it without
    following anything (symlinks stay symlinks, special files are skipped) and removes the
    source. Owners, modes and times are kept."""
    src_dir, dst_dir = open_dir(src_parent), open_dir(dst_parent)
    try:
        try:
            os.rename(name, new_name, src_dir_fd=src_dir, dst_dir_fd=dst_dir)
            return Totals()
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
        totals = Totals()
        _copy_entry(src_dir, dst_dir, name, Rules(), totals, "", 0, new_name=new_name)
        totals.skipped = [path.removeprefix(f"{name}/") for path in totals.skipped]  # inside the tree
        info = os.stat(name, dir_fd=src_dir, follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode):
            shutil.rmtree(name, dir_fd=src_dir)  # descriptor-based: follows no symlink either
        else:
            os.unlink(name, dir_fd=src_dir)
        return totals
    finally:
        os.close(src_dir)
        os.close(dst_dir)


def _copy_dir(src: int, dst: int, rules: Rules, totals: Totals, where: str, depth: int) -> None:
    if depth > rules.max_depth:
        if rules.strict:
            raise Refused("is nested too deeply")
        totals.skipped.append(f"{where} (too deep)")
        return
    for name in sorted(os.listdir(src)):
        totals.entries += 1
        if rules.max_entries is not None and totals.entries > rules.max_entries:
            raise Refused(f"holds more than {rules.max_entries} files")
        _copy_entry(src, dst, name, rules, totals, where, depth)


def _copy_entry(src: int, dst: int, name: str, rules: Rules, totals: Totals, where: str, depth: int,
                new_name: str | None = None) -> None:
    relative = f"{where}{name}"
    target = new_name or name
    try:
        kind = stat.S_IFMT(os.stat(name, dir_fd=src, follow_symlinks=False).st_mode)
        if kind == stat.S_IFDIR:
            _copy_subdir(src, dst, name, target, rules, totals, relative, depth)
        elif kind == stat.S_IFREG:
            _copy_file(src, dst, name, target, rules, totals)
        elif kind == stat.S_IFLNK:
            if rules.strict:
                raise Refused("holds a symlink")
            _copy_link(src, dst, name, target, rules)
        elif rules.strict:
            raise Refused("holds a special file")
        else:
            totals.skipped.append(relative)
    except OSError as exc:
        if exc.errno not in SWAPPED:
            raise
        if rules.strict:
            raise Refused("changed while it was checked") from None
        totals.skipped.append(relative)  # gone or swapped meanwhile: nothing of it is copied


def _judge(info: os.stat_result, rules: Rules) -> None:
    if not rules.strict:
        return
    if rules.only_uid is not None and info.st_uid != rules.only_uid:
        raise Refused("holds files of another user")
    if stat.S_ISREG(info.st_mode) and info.st_nlink != 1:
        raise Refused("holds a hard link")


def _finish(fd: int, info: os.stat_result, rules: Rules) -> None:
    """Owner first: a chown clears setuid bits, and the mode is ours to set after it."""
    uid, gid = rules.owner or (info.st_uid, info.st_gid)
    os.fchown(fd, uid, gid)
    if rules.plain_modes:
        mode = 0o755 if stat.S_ISDIR(info.st_mode) or info.st_mode & stat.S_IXUSR else 0o644
    elif stat.S_ISDIR(info.st_mode):
        mode = stat.S_IMODE(info.st_mode)
    else:
        mode = stat.S_IMODE(info.st_mode) & ~(stat.S_ISUID | stat.S_ISGID)
    os.fchmod(fd, mode)
    os.utime(fd, ns=(info.st_atime_ns, info.st_mtime_ns))


def _copy_subdir(src: int, dst: int, name: str, target: str, rules: Rules, totals: Totals,
                 relative: str, depth: int) -> None:
    child = open_dir(name, src)
    try:
        info = os.fstat(child)
        _judge(info, rules)
        os.mkdir(target, 0o700, dir_fd=dst)
        copy_fd = open_dir(target, dst)
        try:
            _copy_dir(child, copy_fd, rules, totals, relative + "/", depth + 1)
            _finish(copy_fd, info, rules)
        finally:
            os.close(copy_fd)
    finally:
        os.close(child)


def _copy_file(src: int, dst: int, name: str, target: str, rules: Rules, totals: Totals) -> None:
    source = os.open(name, FILE_FLAGS, dir_fd=src)
    try:
        info = os.fstat(source)
        if not stat.S_ISREG(info.st_mode):  # a FIFO or device swapped in after the lstat
            raise OSError(errno.ENXIO, "not a regular file any more")
        _judge(info, rules)
        _charge(totals, info.st_size, rules)
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                      dir_fd=dst)
        try:
            _pour(source, out, totals, rules, info.st_size)
            _finish(out, info, rules)
        finally:
            os.close(out)
    finally:
        os.close(source)


def _charge(totals: Totals, size: int, rules: Rules) -> None:
    """Counts a file's size before reading it, so that an oversize tree is refused early."""
    if rules.limit_bytes is not None and totals.bytes + size > rules.limit_bytes:
        raise TooLarge(totals.bytes + size, rules.limit_bytes)
    totals.bytes += size


def _pour(source: int, out: int, totals: Totals, rules: Rules, announced: int) -> None:
    """Copies the bytes; a file that grows while it is read is charged for the growth too."""
    copied, charged = 0, announced
    while chunk := os.read(source, CHUNK):
        copied += len(chunk)
        if copied > charged:
            _charge(totals, copied - charged, rules)
            charged = copied
        view = memoryview(chunk)
        while view:
            view = view[os.write(out, view):]


def _copy_link(src: int, dst: int, name: str, target: str, rules: Rules) -> None:
    info = os.stat(name, dir_fd=src, follow_symlinks=False)
    os.symlink(os.readlink(name, dir_fd=src), target, dir_fd=dst)
    uid, gid = rules.owner or (info.st_uid, info.st_gid)
    os.chown(target, uid, gid, dir_fd=dst, follow_symlinks=False)
