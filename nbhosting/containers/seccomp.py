"""The seccomp profile of a student's container: podman's default, minus the ioctls that would let
a student's code leave its disk quota.

- btrfs (ioctl type 0x94): the owner of a folder may create a subvolume or a snapshot in it, and a
  new subvolume belongs to no quota group, so whatever is written there escapes the workspace's
  limit. Students get none of btrfs's own ioctls; the generic clone and dedupe ones (cp --reflink)
  that share the type stay allowed.
- 'X' (type 0x58): FS_IOC_FSSETXATTR lets a file's owner change its XFS project id, which is what
  XFS project quotas count. Students keep FS_IOC_FSGETXATTR, which only reads.

seccomp compares the raw 64-bit register while the kernel keeps only the low 32 bits of an ioctl
number, so every rule looks at the low 32 bits only, through masks. And since a rule that allows a
syscall outright wins over any narrower rule, `ioctl` leaves podman's allow-all list and comes back
as rules that allow exactly the numbers outside the blocked families: one rule per way a number can
differ, in at least one bit, from every blocked type.
"""
import hashlib
import itertools
import json
import os
import threading
from pathlib import Path
from typing import Any

from django.conf import settings

from nbhosting.folders import root_folder

TYPE_SHIFT = 8
BLOCKED_TYPES = (0x94, 0x58)
STILL_ALLOWED = {
    0x40049409: "FICLONE",
    0x4020940D: "FICLONERANGE",
    0xC0189436: "FIDEDUPERANGE",
    0x801C581F: "FS_IOC_FSGETXATTR",
}
LOW_32 = 0xFFFFFFFF


class SeccompError(OSError):
    """podman's default profile, which ours is made from, cannot be read: a spawn fails on it as
    on any other file it needs."""


def _masked(mask: int, value: int) -> dict[str, Any]:
    return {"names": ["ioctl"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 1, "value": mask, "valueTwo": value, "op": "SCMP_CMP_MASKED_EQ"}]}


def ioctl_rules() -> list[dict[str, Any]]:
    """Rules that allow every ioctl number whose type byte is not blocked, plus STILL_ALLOWED.
    A number is outside every blocked type when, for each of them, some bit of its type byte
    differs: each rule picks one such bit per blocked type."""
    rules, seen = [], set()
    for bits in itertools.product(range(8), repeat=len(BLOCKED_TYPES)):
        wanted: dict[int, int] = {}
        for bit, blocked in zip(bits, BLOCKED_TYPES):
            value = 0 if blocked >> bit & 1 else 1
            if wanted.setdefault(bit, value) != value:
                break  # one bit cannot differ from two types that disagree on it
        else:
            mask = sum(1 << (bit + TYPE_SHIFT) for bit in wanted)
            value = sum(v << (bit + TYPE_SHIFT) for bit, v in wanted.items())
            if (mask, value) not in seen:
                seen.add((mask, value))
                rules.append(_masked(mask, value))
    rules += [_masked(LOW_32, number) for number in STILL_ALLOWED]
    return rules


def allowed(rules: list[dict[str, Any]], number: int) -> bool:
    """Whether the rules let an ioctl number through, as the kernel's filter decides it."""
    return any(number & arg["value"] == arg["valueTwo"] for rule in rules for arg in rule["args"])


def student_profile(base: dict[str, Any]) -> dict[str, Any]:
    syscalls = []
    for rule in base["syscalls"]:
        if "ioctl" in rule["names"]:
            if rule.get("args") or rule["action"] != "SCMP_ACT_ALLOW":
                raise SeccompError("podman's default profile has a rule on ioctl that this module does not know")
            rule = {**rule, "names": [name for name in rule["names"] if name != "ioctl"]}
        syscalls.append(rule)
    return {**base, "syscalls": syscalls + ioctl_rules()}


def profile_path() -> Path:
    """The profile file for podman (which reads it on the host), written once per content."""
    try:
        base = json.loads(Path(settings.NBH_SECCOMP_BASE).read_text())
    except (OSError, ValueError) as exc:
        raise SeccompError(f"cannot read podman's seccomp profile {settings.NBH_SECCOMP_BASE}: {exc}") from exc
    text = json.dumps(student_profile(base), indent=1)
    folder = root_folder(settings.DATA_ROOT / "run" / "seccomp", 0o755)
    path = folder / f"student-{hashlib.sha256(text.encode()).hexdigest()[:16]}.json"
    if not path.exists():
        # One name per writer: a gunicorn worker runs several starts at once, in threads.
        partial = folder / f".{path.name}.{os.getpid()}.{threading.get_ident()}"
        partial.write_text(text)
        partial.chmod(0o644)
        partial.replace(path)
    return path
