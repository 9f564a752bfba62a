"""A small filesystem in memory, mounted by root on a folder of root's: what a student writes in
it is bounded by its size, however much they try, and it never reaches the host's disk."""
import os
import subprocess
from pathlib import Path


class MountError(OSError):
    """mount or umount failed; the message says why."""


def is_mounted(path: Path) -> bool:
    return os.path.ismount(path)


def mount(path: Path, size: str, inodes: int, mode: int) -> None:
    """Mounts a tmpfs of `size` bytes (a mount(8) size: 1m, 512k) and `inodes` entries on `path`,
    unless one is there already. Nothing in it may run or be a device."""
    if is_mounted(path):
        return
    options = f"size={size},nr_inodes={inodes},mode={mode:o},uid=0,gid=0,nosuid,nodev,noexec"
    _run(["mount", "-t", "tmpfs", "-o", options, "nbhosting", str(path)])


def unmount(path: Path) -> None:
    """Unmounts what is mounted on `path`; nothing mounted: no error."""
    if is_mounted(path):
        _run(["umount", str(path)])


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise MountError(f"{command[0]} failed: {done.stderr.strip() or done.returncode}")
