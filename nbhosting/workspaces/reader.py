"""Prints one file of a student's workspace, as the student's uid (never root), with
`python -I -S -c`: the plan on stdin is {"path": "w1/a.ipynb", "limit": bytes}. Each folder on the
way is opened with O_NOFOLLOW relative to its parent, and so is the file: a link is never
followed, even to a file the student may read. Exits 3 with one line when it cannot."""
import json
import os
import stat
import sys


def read(path: str, limit: int) -> bytes:
    folder = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
    *folders, name = path.split("/")
    for part in folders:
        if part in ("", ".", ".."):
            raise OSError(f"{path}: not a path in the workspace")
        child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=folder)
        os.close(folder)
        folder = child
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder)
    with os.fdopen(fd, "rb") as source:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path} is not a file")
        data = source.read(limit + 1)
    if len(data) > limit:
        raise OSError(f"{path} is larger than {limit // 1_000_000} MB")
    return data


def main() -> None:
    plan = json.load(sys.stdin)
    try:
        data = read(plan["path"], plan["limit"])
    except OSError as exc:
        sys.stderr.write(f"{exc.strerror or exc}: {plan['path']}\n" if exc.strerror else f"{exc}\n")
        sys.exit(3)
    sys.stdout.buffer.write(data)


main()
