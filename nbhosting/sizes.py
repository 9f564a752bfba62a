"""Sizes as admins write them (512m, 2g) and as staff read them (12.3 MB)."""
import re

SIZE_RE = re.compile(r"[1-9][0-9]{0,5}[kmgt]")
UNLIMITED = ("0", "none")
UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


class InvalidSize(ValueError):
    pass


def parse_size(text: str) -> int | None:
    """Bytes, or None for no limit ("0" or "none")."""
    value = text.lower()
    if value in UNLIMITED:
        return None
    if not SIZE_RE.fullmatch(value):
        raise InvalidSize(f"{text!r} is not a size like 500m or 2g (or none)")
    return int(value[:-1]) * UNITS[value[-1]]


def format_size(size: int | None) -> str:
    if size is None:
        return "unlimited"
    for unit, factor in (("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{size} B"
