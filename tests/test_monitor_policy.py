"""The culling tiers' decisions, on their own: the corners the real-container tests do not reach
(maximum lifetime, a server that no longer answers), and the rules they rely on."""
from datetime import datetime, timedelta, timezone

from nbhosting.containers.activity import parse_time
from nbhosting.containers.backend import Activity
from nbhosting.monitor.policy import Limits, for_running, for_stopped

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc)
LIMITS = Limits(server_after=3600, remove_after=86400, max_lifetime=0)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def idle_since(seconds: float, **counts) -> Activity:
    return Activity(answered=True, last_activity=ago(seconds), **counts)


def test_idle_past_t_is_stopped_with_its_idle_time():
    decision = for_running(idle_since(4000, kernels=1), ago(9000), ago(8000), NOW, LIMITS)
    assert decision.action == "stop" and decision.idle_seconds == 4000
    assert decision.reason.startswith("idle for 66.7 min")


def test_recent_activity_of_any_kind_keeps_the_server():
    assert for_running(idle_since(100), ago(9000), ago(8000), NOW, LIMITS) is None
    # A gateway open counts even before Jupyter saw any request.
    assert for_running(idle_since(5000), ago(9000), ago(60), NOW, LIMITS) is None


def test_busy_kernel_or_open_connection_is_never_idle():
    assert for_running(idle_since(10**6, kernels=1, busy_kernels=1), ago(10**6), None, NOW, LIMITS) is None
    assert for_running(idle_since(10**6, connections=1), ago(10**6), None, NOW, LIMITS) is None


def test_server_that_does_not_answer_is_judged_by_its_last_open():
    silent = Activity(answered=False)
    assert for_running(silent, ago(9000), ago(100), NOW, LIMITS) is None
    decision = for_running(silent, ago(9000), ago(5000), NOW, LIMITS)
    assert decision.action == "stop" and "does not answer" in decision.reason


def test_max_lifetime_is_off_by_default_and_stops_even_a_busy_server():
    busy = idle_since(0, busy_kernels=1)
    assert for_running(busy, ago(10**7), ago(0), NOW, LIMITS) is None
    limited = Limits(server_after=3600, remove_after=86400, max_lifetime=8 * 3600)
    decision = for_running(busy, ago(9 * 3600), ago(0), NOW, limited)
    assert decision.action == "stop" and "maximum lifetime" in decision.reason


def test_stopped_container_is_removed_after_l():
    assert for_stopped(ago(100), NOW, LIMITS) is None
    assert for_stopped(None, NOW, LIMITS) is None
    assert for_stopped(ago(90000), NOW, LIMITS).action == "remove"


def test_jupyter_times_are_read_with_their_zone():
    assert parse_time("2026-01-05T11:00:00.123456Z") == ago(3600 - 0.123456)
    assert parse_time("") is None and parse_time(None) is None and parse_time("yesterday") is None
