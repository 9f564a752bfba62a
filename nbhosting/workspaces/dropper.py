"""Puts files that staff dropped into one student's workspace, or says what it would do.

Runs as the student's uid (never root) with `python -I -S -c`, in the workspace. The plan on stdin:
  {"dry_run": bool, "files": [{"path": "data/a.csv", "content": base64, "digest": sha256 hex,
                               "previous": [sha256 hex of the platform's earlier drops there]}]}
prints [{"path", "action", "detail"}] where action is
  create: the file is not there;      update: it is an earlier drop, unchanged by the student;
  same: it has this content already;  kept: the student changed it (never overwritten);
  blocked: a link, or something that is not a folder or a file, is on the way (never followed).
Each folder is opened relative to its parent with O_NOFOLLOW; the new content is written beside
the file and renamed over it, so that the student never sees half a file.
"""
import base64
import hashlib
import json
import os
import stat
import sys


class Blocked(Exception):
    pass


def open_folder(parts: list, create: bool) -> int | None:
    """The descriptor of the file's folder; None when it does not exist yet (and may not be made)."""
    folder = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
    for part in parts:
        try:
            info = os.stat(part, dir_fd=folder, follow_symlinks=False)
        except FileNotFoundError:
            if not create:
                os.close(folder)
                return None
            os.mkdir(part, 0o755, dir_fd=folder)
            info = os.stat(part, dir_fd=folder, follow_symlinks=False)
        if not stat.S_ISDIR(info.st_mode):
            os.close(folder)
            raise Blocked(f"{part} is {'a link' if stat.S_ISLNK(info.st_mode) else 'not a folder'}")
        child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=folder)
        os.close(folder)
        folder = child
    return folder


def digest_of(folder: int, name: str) -> str | None:
    try:
        info = os.stat(name, dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode):
        raise Blocked("a link" if stat.S_ISLNK(info.st_mode) else "not a file")
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder)
    with os.fdopen(fd, "rb") as current:
        return hashlib.sha256(current.read()).hexdigest()


def write(folder: int, name: str, content: bytes) -> None:
    partial = f".{name}.nbh-drop-{os.getpid()}"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=folder)
    with os.fdopen(fd, "wb") as out:
        out.write(content)
    os.replace(partial, name, src_dir_fd=folder, dst_dir_fd=folder)


def place(item: dict, dry_run: bool) -> dict:
    *parts, name = item["path"].split("/")
    folder = open_folder(parts, create=not dry_run)
    try:
        current = digest_of(folder, name) if folder is not None else None
        if current == item["digest"]:
            return {"path": item["path"], "action": "same", "detail": ""}
        if current is not None and current not in item["previous"]:
            return {"path": item["path"], "action": "kept", "detail": "changed by the student"}
        action = "create" if current is None else "update"
        if not dry_run:
            write(folder, name, base64.b64decode(item["content"]))
        return {"path": item["path"], "action": action, "detail": ""}
    finally:
        if folder is not None:
            os.close(folder)


def main() -> None:
    plan = json.load(sys.stdin)
    results = []
    for item in plan["files"]:
        try:
            results.append(place(item, plan["dry_run"]))
        except Blocked as exc:
            results.append({"path": item["path"], "action": "blocked", "detail": str(exc)})
        except OSError as exc:
            results.append({"path": item["path"], "action": "blocked", "detail": exc.strerror or str(exc)})
    json.dump(results, sys.stdout)


main()
