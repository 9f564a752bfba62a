"""Applies a copy plan inside a student's workspace. Runs as the student's uid, never as root.

The platform runs this file's text with `python -I -S -c`, after dropping to the student's
uid and gid, so a symlink the student planted in their workspace can only ever reach what the
student could write anyway. It uses the standard library only, and reads its plan as JSON on stdin:
  {"notebook": {"target": "w1/a.ipynb", "source": "/abs/a.ipynb" | null, "content": str | null},
   "along": [{"source": "/abs/data", "target": "w1/data"}], "reset": bool, "stamp": "20261122-1030"}
and prints {"action": "created" | "existing" | "reset", "backup": path | null, "mtime_ns": int | null,
"size": int | null} (the new copy's, so that a later change of either tells the student modified it).
"""
import json
import os
import shutil
import sys


def copy_notebook(notebook: dict, reset: bool, stamp: str) -> dict:
    target = notebook["target"]
    backup = None
    if os.path.lexists(target):
        if not reset:
            return {"action": "existing", "backup": None, "mtime_ns": None, "size": None}
        stem, dot, suffix = target.rpartition(".")
        backup = f"{stem}-backup-{stamp}{dot}{suffix}"
        os.rename(target, backup)
    parent = os.path.dirname(target)
    if parent:
        os.makedirs(parent, exist_ok=True)
    partial = f"{target}.nbh-partial-{os.getpid()}"  # concurrent opens never share one
    if notebook.get("content") is not None:
        with open(partial, "w", encoding="utf-8") as out:
            out.write(notebook["content"])
    else:
        shutil.copyfile(notebook["source"], partial)
    os.replace(partial, target)  # the student never sees a half-written notebook
    info = os.lstat(target)
    return {"action": "reset" if backup else "created", "backup": backup, "mtime_ns": info.st_mtime_ns,
            "size": info.st_size}


def copy_along(items: list) -> None:
    """Folders a notebook needs (data/, media/): copied once, never overwritten."""
    for item in items:
        target = item["target"]
        if os.path.lexists(target):
            continue
        partial = f"{target}.nbh-partial-{os.getpid()}"
        if os.path.isdir(item["source"]):
            shutil.copytree(item["source"], partial, symlinks=True)
        else:
            shutil.copyfile(item["source"], partial)
        try:
            os.rename(partial, target)
        except OSError:
            # A concurrent open of the same notebook got there first: keep its copy.
            shutil.rmtree(partial, ignore_errors=True) if os.path.isdir(partial) else os.remove(partial)


def main() -> None:
    plan = json.load(sys.stdin)
    result = copy_notebook(plan["notebook"], plan.get("reset", False), plan["stamp"])
    copy_along(plan.get("along", []))
    json.dump(result, sys.stdout)


main()
