"""Applies a copy plan inside a student's workspace. Runs as the student's uid, never as root.

The platform runs this file's text with `python -I -S -c`, after dropping to the student's
uid and gid, so a symlink the student planted in their workspace can only ever reach what the
student could write anyway. It uses the standard library only, and reads its plan as JSON on stdin:
  {"repo": "/abs/repo",
   "notebook": {"target": "w1/a.ipynb", "source": "/abs/a.ipynb" | null, "content": str | null},
   "along": [{"source": "/abs/data", "target": "w1/data"}], "reset": bool, "stamp": "20261122-1030"}
and prints {"action": "created" | "existing" | "reset", "backup": path | null, "mtime_ns": int | null,
"size": int | null} (the new copy's, so that a later change of either tells the student modified it),
or {"error": "conflict" | "failed", "message": str} when it changed nothing.

Nothing leaves the course repo: a source that is a link, or resolves outside the repo, is not
copied, nor is a link inside a copied folder that points outside it. Every copy is made under a
partial name and renamed into place at the end; on failure the partial copy is removed.
"""
import json
import os
import re
import shutil
import stat
import sys


class Refused(Exception):
    """The workspace is in a state this copy cannot use (a link where a folder should be)."""


class Failed(Exception):
    """A copy failed; what it had made is removed."""


def inside(path: str, repo: str) -> bool:
    real = os.path.realpath(path)
    return real == repo or real.startswith(repo + os.sep)


def make_folders(target: str) -> None:
    """Every folder on the way to `target` is a real folder of the workspace, made if missing."""
    here = ""
    for part in target.split("/")[:-1]:
        here = os.path.join(here, part)
        try:
            os.mkdir(here)
            continue
        except FileExistsError:
            pass
        if not stat.S_ISDIR(os.lstat(here).st_mode):
            raise Refused(f"{here} in your workspace is not a folder (a link or a file stands there): "
                          f"rename it to open {target}")


def remove(path: str) -> None:
    """Removes a partial copy, even one holding read-only folders copied from the course."""
    def writable(function, name, _exc_info) -> None:
        os.chmod(os.path.dirname(name), 0o700)
        function(name)

    if os.path.isdir(path) and not os.path.islink(path):
        os.chmod(path, 0o700)
        shutil.rmtree(path, onerror=writable)
    elif os.path.lexists(path):
        os.remove(path)


def links_out_of(repo: str):
    """copytree's `ignore`: a link inside a copied folder that points out of the course is left out."""
    def ignore(folder: str, names: list[str]) -> list[str]:
        return [name for name in names
                if os.path.islink(os.path.join(folder, name)) and not inside(os.path.join(folder, name), repo)]
    return ignore


def copy_file(source: str, partial: str) -> None:
    with open(source, "rb") as src, open(partial, "xb") as out:  # "x": never through a planted name
        shutil.copyfileobj(src, out)


def copy_along(items: list, repo: str) -> None:
    """Folders a notebook needs (data/, media/): copied once, never overwritten."""
    for item in items:
        source, target = item["source"], item["target"]
        if os.path.lexists(target) or os.path.islink(source) or not inside(source, repo):
            continue
        partial = f"{target}.nbh-partial-{os.getpid()}"
        try:
            remove(partial)  # our pid: a leftover of a process long gone
            if os.path.isdir(source):
                shutil.copytree(source, partial, symlinks=True, ignore=links_out_of(repo))
            else:
                copy_file(source, partial)
        except (OSError, shutil.Error) as exc:
            remove(partial)
            raise Failed(f"{target} could not be copied ({reason(exc)})") from None
        try:
            os.rename(partial, target)
        except OSError:
            remove(partial)  # a concurrent open of the same notebook got there first: keep its copy


def copy_notebook(notebook: dict, repo: str, reset: bool, stamp: str) -> dict:
    target = notebook["target"]
    if os.path.lexists(target) and not reset:
        return {"action": "existing", "backup": None, "mtime_ns": None, "size": None}
    partial = f"{target}.nbh-partial-{os.getpid()}"  # concurrent opens never share one
    try:
        remove(partial)
        if notebook.get("content") is not None:
            with open(partial, "x", encoding="utf-8") as out:
                out.write(notebook["content"])
        elif inside(notebook["source"], repo):
            copy_file(notebook["source"], partial)
        else:
            raise Failed(f"{target} is not a file of the course")
        backup = None
        if os.path.lexists(target):
            # The student's version is set aside only once the new copy is whole.
            stem, dot, suffix = target.rpartition(".")
            backup = f"{stem}-backup-{stamp}{dot}{suffix}"
            os.rename(target, backup)
        os.replace(partial, target)  # the student never sees a half-written notebook
    except OSError as exc:
        remove(partial)
        raise Failed(f"{target} could not be copied ({reason(exc)})") from None
    except Failed:
        remove(partial)
        raise
    info = os.lstat(target)
    return {"action": "reset" if backup else "created", "backup": backup, "mtime_ns": info.st_mtime_ns,
            "size": info.st_size}


def reason(exc: BaseException) -> str:
    """What went wrong, without the host paths of the course."""
    if isinstance(exc, shutil.Error):
        first = exc.args[0][0] if exc.args and exc.args[0] else None
        return re.sub(r"^\[Errno \d+\] ", "", str(first[2]).split(":")[0]) if first else "copy failed"
    return getattr(exc, "strerror", None) or type(exc).__name__


def main() -> None:
    plan = json.load(sys.stdin)
    repo = os.path.realpath(plan["repo"])
    try:
        make_folders(plan["notebook"]["target"])
        copy_along(plan.get("along", []), repo)  # first: a failed copy leaves no notebook to skip it later
        result = copy_notebook(plan["notebook"], repo, plan.get("reset", False), plan["stamp"])
    except Refused as exc:
        result = {"error": "conflict", "message": str(exc)}
    except Failed as exc:
        result = {"error": "failed", "message": str(exc)}
    except OSError as exc:
        result = {"error": "failed", "message": f"{plan['notebook']['target']}: {reason(exc)}"}
    json.dump(result, sys.stdout)


main()
