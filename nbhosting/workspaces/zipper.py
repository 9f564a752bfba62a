"""Writes a zip of a student's workspace to stdout, as the platform streams it to the student.

Runs as the student's uid (workspace.stream_as), never as root, with `python -I -S -c`. Only
what the student sees in Jupyter's file browser goes in: regular files, in folders, none of them
hidden (so no .git, no checkpoints, no caches). A link is never followed: each folder is opened
relative to its parent with O_NOFOLLOW, each file with O_NOFOLLOW, and anything that is not a
regular file once open is left out.
"""
import os
import shutil
import stat
import sys
import time
import zipfile

EARLIEST = (1980, 1, 1, 0, 0, 0)  # zip's epoch


def add_folder(folder: int, prefix: str, archive: zipfile.ZipFile) -> None:
    for name in sorted(os.listdir(folder)):
        if name.startswith("."):
            continue
        try:
            info = os.stat(name, dir_fd=folder, follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode):
            try:
                child = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=folder)
            except OSError:
                continue
            try:
                add_folder(child, f"{prefix}{name}/", archive)
            finally:
                os.close(child)
        elif stat.S_ISREG(info.st_mode):
            add_file(folder, name, f"{prefix}{name}", archive)


def add_file(folder: int, name: str, path: str, archive: zipfile.ZipFile) -> None:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder)
    except OSError:
        return
    with os.fdopen(fd, "rb") as source:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return
        entry = zipfile.ZipInfo(path, date_time=max(EARLIEST, time.localtime(info.st_mtime)[:6]))
        entry.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(entry, "w", force_zip64=True) as out:
            shutil.copyfileobj(source, out, 1 << 20)


def main() -> None:
    root = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
    with zipfile.ZipFile(sys.stdout.buffer, "w") as archive:
        add_folder(root, "", archive)
    sys.stdout.buffer.flush()


main()
