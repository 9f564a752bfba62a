"""A course's pool policy, as `nbh course-update --pool` and the dashboard set it and show it."""
from nbhosting.courses.models import Course
from nbhosting.exchange.models import nbgrader_of
from nbhosting.pool import schedule
from nbhosting.pool.models import Policy

MAX_SIZE = 500


class InvalidPool(ValueError):
    pass


def configure(course: Course, size: int | None = None, hours: str | None = None, days: str | None = None) -> Policy:
    """Checks every value first, then saves them together; raises InvalidPool or InvalidSchedule."""
    policy = Policy.objects.filter(course=course).first() or Policy(course=course)
    if size is not None:
        if not 0 <= size <= MAX_SIZE:
            raise InvalidPool(f"invalid pool size {size}: use 0 to {MAX_SIZE}")
        if size and nbgrader_of(course) is not None:
            # nbgrader names the student by the passwd file the container was made with.
            raise InvalidPool(f"{course.name} is an nbgrader course: its servers cannot be pooled")
        policy.size = size
    if hours is not None:
        schedule.parse_hours(hours)
        policy.hours = hours
    if days is not None:
        schedule.parse_days(days)
        policy.days = days.lower()
    policy.save()
    return policy


def describe(course: Course) -> str:
    """One line: '8 (08:00-18:00, mon-fri)', or 'off'."""
    policy = Policy.objects.filter(course=course).first()
    if policy is None or not policy.size:
        return "off"
    return f"{policy.size} ({policy.hours or 'all day'}, {policy.days or 'every day'})"
