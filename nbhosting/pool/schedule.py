"""When a course wants its pool warm: hours of the day and days of the week, in the site's time
zone (NBH_TIME_ZONE). `hours` is "HH:MM-HH:MM" (an end before the start runs past midnight),
`days` a list or ranges of week days ("mon-fri", "mon,wed,fri"); empty means always."""
import re
from datetime import datetime, time

from django.utils import timezone

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOURS_RE = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])")


class InvalidSchedule(ValueError):
    pass


def parse_hours(hours: str) -> tuple[time, time] | None:
    if not hours:
        return None
    found = HOURS_RE.fullmatch(hours)
    if not found:
        raise InvalidSchedule(f"invalid pool hours {hours!r}: use HH:MM-HH:MM, e.g. 08:00-18:00")
    start = time(int(found[1]), int(found[2]))
    end = time.max if found[3] == "24" else time(int(found[3]), int(found[4]))
    if start == end:
        raise InvalidSchedule(f"invalid pool hours {hours!r}: the start and the end are the same")
    return start, end


def parse_days(days: str) -> set[int] | None:
    """Week day numbers (Monday 0), None for every day."""
    if not days:
        return None
    chosen: set[int] = set()
    for part in days.lower().split(","):
        first, _, last = part.strip().partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise InvalidSchedule(f"invalid pool days {days!r}: use mon..sun, lists and ranges, e.g. mon-fri")
        a, b = DAYS.index(first), DAYS.index(last or first)
        chosen |= set(range(a, b + 1)) if a <= b else set(range(a, 7)) | set(range(0, b + 1))
    return chosen


def within(hours: str, days: str, now: datetime | None = None) -> bool:
    """Whether the schedule wants the pool warm at `now` (aware; default: now)."""
    local = timezone.localtime(now or timezone.now())
    span, weekdays = parse_hours(hours), parse_days(days)
    if span is None:
        return weekdays is None or local.weekday() in weekdays
    start, end = span
    clock = local.time()
    if start < end:
        return (weekdays is None or local.weekday() in weekdays) and start <= clock < end
    # Past midnight: the evening belongs to today, the early morning to yesterday's session.
    if clock >= start:
        return weekdays is None or local.weekday() in weekdays
    return clock < end and (weekdays is None or (local.weekday() - 1) % 7 in weekdays)
