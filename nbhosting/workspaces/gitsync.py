"""Makes a student's workspace a git clone of the course, or merges the course's new commits into it.

The platform runs this file's text with `python -I -c` (the host venv's python: the merge is
nbgitpuller's), in the workspace, as the student's uid and gid, without network and unable to
gain privileges (workspace.run_offline), so whatever the student planted in their repository
can do no more than they can in their own container. It reads a plan as JSON on stdin:
  {"action": "clone" | "merge", "repo": "<host path of the course's clone>", "mount": "/course",
   "suffixes": [".ipynb", ".md", ".py"]}
and prints
  {"action": "cloned" | "adopted" | "merged" | "unchanged", "before": sha | null, "commit": sha,
   "updated": [[status, path]], "kept": [path], "renamed": [[path, new path]],
   "notebooks": [{"path", "digest", "differs", "mtime_ns", "size"}]}
or exits non-zero with one line on stderr.

- clone: a workspace that already holds files (MOOC copies, the student's own) is adopted in
  place: the clone's history is put under the files, which stay as they are: a file that differs
  from the course's is a local change ("kept"), the student's own files are untracked, and only
  files the workspace lacks are written. Nothing is overwritten, so nothing is lost.
- merge: nbgitpuller's merge: the student's changes are committed, the course's merged with
  -Xours (the student's lines win where both changed the same lines), and files the student made
  where the course adds one are renamed out of its way. It does not say where the student's lines
  won; that is found here by merging the same two commits again in memory (git merge-tree).
"""
import json
import os
import re
import shutil
import subprocess
import sys

PARTIAL = ".nbh-clone-partial"
RENAMED = re.compile(r"^Renamed (.+) to (.+) to avoid conflict with upstream$")
# Keys a student's .git/config may hold. Anything else may name a command that git would run
# here (filters, merge drivers, upload-pack, fsmonitor, includes...): such a repo is not merged.
SAFE_KEYS = re.compile(
    r"^(core\.(repositoryformatversion|filemode|bare|logallrefupdates|ignorecase|precomposeunicode|symlinks"
    r"|autocrlf|safecrlf|eol|quotepath)"
    r"|remote\.[^.]+\.(url|fetch|pushurl|tagopt|prune)|branch\.[^.]+\.(remote|merge|rebase)"
    r"|user\.[a-z]+|alias\.[^.]+|color\..+|advice\.[a-z]+|init\.[a-z]+|pull\.(rebase|ff)|push\.default"
    r"|merge\.(ff|conflictstyle)|gc\.auto|i18n\.[a-z]+)$")


class SyncError(RuntimeError):
    pass


def git(*args: str, stdin: str | None = None, check: bool = True) -> str:
    proc = subprocess.run(["git", *args], input=stdin, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise SyncError(f"git {args[0]}: {proc.stderr.strip()[-400:]}")
    return proc.stdout


def nul_list(text: str) -> list[str]:
    return [item for item in text.split("\0") if item]


def clone(plan: dict) -> dict:
    if os.path.lexists(PARTIAL):  # left by an interrupted clone: the student's own files stay apart
        os.unlink(PARTIAL) if os.path.islink(PARTIAL) else shutil.rmtree(PARTIAL)
    adopting = any(name != PARTIAL for name in os.listdir("."))
    git("clone", "--quiet", "--no-checkout", plan["repo"], PARTIAL)
    tree = [f"--git-dir={PARTIAL}/.git", "--work-tree=."]
    git(*tree, "reset", "--quiet")  # the index follows the course; the files stay as they are
    missing = git(*tree, "ls-files", "--deleted", "-z")
    # Writes only what is missing: checkout-index overwrites nothing without --force, and refuses
    # to write through a symlink.
    git(*tree, "checkout-index", "-z", "--stdin", stdin=missing, check=False)
    kept = nul_list(git(*tree, "diff", "--name-only", "-z"))
    os.rename(f"{PARTIAL}/.git", ".git")  # only now is it a clone: a crash before leaves files as they were
    os.rmdir(PARTIAL)
    git("remote", "set-url", "origin", plan["mount"])
    commit = git("rev-parse", "HEAD").strip()
    return {"action": "adopted" if adopting else "cloned", "before": None, "commit": commit,
            "updated": [], "kept": kept, "renamed": [], "notebooks": notebooks(plan, commit)}


def check_config() -> None:
    names = git("config", "--local", "--list", "--name-only").split()
    unsafe = sorted({name for name in names if not SAFE_KEYS.match(name)})
    if unsafe:
        raise SyncError("your .git/config sets " + ", ".join(unsafe[:5]) + ", which the platform does not "
                        "run; remove it (git config --unset ...) to get the course's updates")


def merge(plan: dict) -> dict:
    check_config()
    from nbgitpuller import GitPuller  # the host venv's; imported late, as cloning does not need it

    puller = GitPuller(plan["repo"], ".")
    upstream = f"origin/{puller.branch_name}"
    before = git("rev-parse", "--verify", "--quiet", upstream, check=False).strip() or None
    head = git("rev-parse", "HEAD").strip()
    log: list[str] = []
    try:
        log.extend(line.rstrip("\n") for line in puller.pull())
    except Exception as exc:  # nbgitpuller raises bare Exception too
        if os.path.exists(".git/MERGE_HEAD"):  # back to before the merge; the student's changes are committed
            git("merge", "--abort", check=False)
        detail = " / ".join(line for line in log[-3:] if line.strip())
        raise SyncError(f"the merge stopped: {exc} {detail}".strip()) from None
    commit = git("rev-parse", upstream).strip()
    merged = git("rev-parse", "HEAD").strip()
    if commit == before:
        return {"action": "unchanged", "before": before, "commit": commit, "updated": [], "kept": [],
                "renamed": [], "notebooks": notebooks(plan, commit)}
    renamed = [[_relative(m[1]), _relative(m[2])] for line in log if (m := RENAMED.match(line))]
    return {"action": "merged", "before": before, "commit": commit, "updated": updated(before, commit),
            "kept": kept_over_course(head, merged), "renamed": renamed, "notebooks": notebooks(plan, commit)}


def _relative(path: str) -> str:
    return os.path.normpath(path)


def updated(before: str | None, after: str) -> list[list[str]]:
    if before is None:
        return []
    fields = nul_list(git("diff", "--name-status", "-z", "--no-renames", before, after))
    return [[fields[i][0], fields[i + 1]] for i in range(0, len(fields) - 1, 2)]


def kept_over_course(head: str, merged: str) -> list[str]:
    """Where -Xours decided: the paths that a plain merge of the same two commits leaves in conflict."""
    parents = git("rev-list", "--parents", "-n", "1", merged).split()[1:]
    if merged == head or len(parents) != 2:
        return []  # a fast-forward: the student had changed nothing
    proc = subprocess.run(["git", "merge-tree", "--write-tree", "--name-only", "--no-messages", *parents],
                          capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        raise SyncError(f"git merge-tree: {proc.stderr.strip()[-400:]}")
    return sorted(set(proc.stdout.splitlines()[1:]) - {""})


def notebooks(plan: dict, commit: str) -> list[dict]:
    """The course's notebooks as merged, with the student's files as they are now."""
    suffixes = tuple(plan["suffixes"])
    entries = nul_list(git("ls-tree", "-r", "-z", commit))
    blobs = {}
    for entry in entries:
        info, path = entry.split("\t", 1)
        if path.endswith(suffixes) and info.split()[1] == "blob":
            blobs[path] = info.split()[2]
    differs = set(nul_list(git("diff", "--name-only", "-z", commit)))
    result = []
    for path, digest in sorted(blobs.items()):
        try:
            info = os.lstat(path)
            mtime_ns, size = info.st_mtime_ns, info.st_size
        except OSError:
            mtime_ns = size = None
        result.append({"path": path, "digest": digest, "differs": path in differs,
                       "mtime_ns": mtime_ns, "size": size})
    return result


def main() -> None:
    plan = json.load(sys.stdin)
    try:
        result = clone(plan) if plan["action"] == "clone" else merge(plan)
    except SyncError as exc:
        sys.stderr.write(f"{exc}\n")
        sys.exit(3)
    json.dump(result, sys.stdout)


main()
