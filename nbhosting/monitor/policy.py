"""The culling tiers as pure decisions: given what a container is doing, what should happen to it.

Tier 1 (idle kernels) runs inside Jupyter (see jupyter.kernel_culling); these are tiers 2 to 4.
"""
from dataclasses import dataclass
from datetime import datetime

from nbhosting.containers.activity import latest
from nbhosting.containers.backend import Activity


@dataclass(frozen=True)
class Limits:
    server_after: int  # T: stop a server idle this long
    remove_after: int  # L: remove a container stopped this long
    max_lifetime: int  # stop a server running this long, whatever it does; 0: never


@dataclass(frozen=True)
class Decision:
    action: str  # "stop" or "remove"
    reason: str
    idle_seconds: int | None = None


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def for_running(activity: Activity, started: datetime | None, last_open: datetime | None,
                now: datetime, limits: Limits) -> Decision | None:
    if limits.max_lifetime and started and (now - started).total_seconds() >= limits.max_lifetime:
        return Decision("stop", f"reached the maximum lifetime of {minutes(limits.max_lifetime)}")
    if activity.in_use:
        return None
    # A gateway open or a start counts too: a server that was just opened has not had time to
    # record any activity of its own.
    since = latest(activity.last_activity, last_open, started)
    if since is None:
        return None
    idle = (now - since).total_seconds()
    if idle < limits.server_after:
        return None
    if not activity.answered:
        return Decision("stop", f"server does not answer and was last used {minutes(idle)} ago", int(idle))
    return Decision(
        "stop", f"idle for {minutes(idle)} (kernels {activity.kernels}, none busy, no connection)", int(idle)
    )


def for_stopped(finished: datetime | None, now: datetime, limits: Limits) -> Decision | None:
    if finished is None:
        return None
    stopped_for = (now - finished).total_seconds()
    if stopped_for < limits.remove_after:
        return None
    return Decision("remove", f"stopped for {minutes(stopped_for)}")
