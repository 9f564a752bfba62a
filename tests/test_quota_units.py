"""Unit tests of the pieces behind disk quotas: sizes, the btrfs report, the seccomp rules."""
import json

import pytest

from nbhosting.containers import seccomp
from nbhosting.sizes import InvalidSize, format_size, parse_size
from nbhosting.workspaces.quota import Usage, parse_qgroups


@pytest.mark.parametrize("text, size", [("20m", 20 << 20), ("1g", 1 << 30), ("512k", 512 << 10),
                                        ("2T", 2 << 40), ("none", None), ("0", None)])
def test_sizes(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "20", "-1m", "1p", "1.5g", "0m", "20m\n", "1234567g"])
def test_bad_sizes_are_refused(text):
    with pytest.raises(InvalidSize):
        parse_size(text)


def test_sizes_read_well():
    assert [format_size(n) for n in (None, 0, 2048, 20 << 20, 3 << 29)] == [
        "unlimited", "0 B", "2.0 kB", "20.0 MB", "1.5 GB"]


def test_qgroups_by_subvolume_id():
    report = """Qgroupid    Referenced    Exclusive  Max referenced  Max exclusive   Path
--------    ----------    ---------  --------------  -------------   ----
0/5              16384        16384            none           none   <toplevel>
0/256         20987904     20987904        20971520           none   c1/s1
0/257            16384        16384            none           none   <stale>
1/100            16384        16384        20971520           none   <0 member qgroups>
"""
    assert parse_qgroups(report) == {5: Usage(16384, None), 256: Usage(20987904, 20971520),
                                     257: Usage(16384, None)}


# ioctl numbers: (type byte, whether a student may use it)
KNOWN = {
    0x5000940E: False,  # BTRFS_IOC_SUBVOL_CREATE
    0x50009418: False,  # BTRFS_IOC_SUBVOL_CREATE_V2
    0x50009401: False,  # BTRFS_IOC_SNAP_CREATE
    0x50009417: False,  # BTRFS_IOC_SNAP_CREATE_V2
    0x4008941A: False,  # BTRFS_IOC_SUBVOL_SETFLAGS
    0x401C5820: False,  # FS_IOC_FSSETXATTR
    0x40049409: True,   # FICLONE
    0x4020940D: True,   # FICLONERANGE
    0xC0189436: True,   # FIDEDUPERANGE
    0x801C581F: True,   # FS_IOC_FSGETXATTR
    0x5401: True,       # TCGETS
    0x541B: True,       # FIONREAD
    0x80086601: True,   # FS_IOC_GETFLAGS
    0xC020660B: True,   # FS_IOC_FIEMAP
}


def test_the_ioctl_rules_allow_exactly_what_they_should():
    rules = seccomp.ioctl_rules()
    for number, expected in KNOWN.items():
        assert seccomp.allowed(rules, number) is expected, hex(number)
        # The kernel keeps only the low 32 bits: high bits change nothing.
        assert seccomp.allowed(rules, number | 0xDEAD_0000_0000_0000) is expected, hex(number)
    # Every type byte, with every direction and size: blocked exactly for the two families.
    for kind in range(256):
        for high in (0x00000000, 0x40000000, 0x80080000, 0xC0FF0000, 0x1_5000_0000):
            number = high | kind << 8 | 0x0E
            expected = kind not in seccomp.BLOCKED_TYPES or (number & 0xFFFFFFFF) in seccomp.STILL_ALLOWED
            assert seccomp.allowed(rules, number) is expected, hex(number)


def test_the_profile_is_podmans_with_ioctl_by_rules_only():
    base = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read", "ioctl", "write"], "action": "SCMP_ACT_ALLOW", "args": []},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
    ]}
    profile = seccomp.student_profile(base)
    assert profile["syscalls"][0]["names"] == ["read", "write"]
    assert profile["syscalls"][1] == base["syscalls"][1]
    ioctl = [rule for rule in profile["syscalls"] if "ioctl" in rule["names"]]
    assert ioctl and all(rule["action"] == "SCMP_ACT_ALLOW" and rule["args"] for rule in ioctl)
    json.dumps(profile)


def test_an_unknown_ioctl_rule_in_podmans_profile_is_refused():
    base = {"syscalls": [{"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "args": []}]}
    with pytest.raises(seccomp.SeccompError):
        seccomp.student_profile(base)
