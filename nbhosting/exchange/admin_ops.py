"""What the admin commands do to a course's containers when its nbgrader settings change."""
from nbhosting.containers import lifecycle
from nbhosting.containers.lifecycle import ContainersRunning
from nbhosting.containers.models import Container
from nbhosting.courses.models import Course
from nbhosting.exchange import layout

__all__ = ["ContainersRunning", "recreate_containers", "revoke_instructors_server"]


def recreate_containers(course: Course, force: bool) -> int:
    """Containers get the exchange's mounts when they are created: after nbgrader is turned on or
    off, the course's containers are removed (workspaces stay) and the next open recreates them.
    Running ones are only stopped with force. Returns how many were removed."""
    try:
        return lifecycle.remove_course_containers(course, "recreated for a change of nbgrader settings",
                                                  force=force)
    except ContainersRunning as exc:
        raise ContainersRunning(f"{exc} (they must be recreated to follow this change)") from None


def revoke_instructors_server(course: Course) -> None:
    """The instructors' server is reached through a secret URL that a removed instructor may still
    know: the server is removed and its URL changes, under the pair's lease, so that an open of
    the grading server under way cannot bring it back under the old URL."""
    identity = layout.instructors(course)
    record = Container.objects.filter(course=course, student=identity).first()
    if record is None:
        return
    lifecycle.renew_secret(record, "an instructor was removed: new URL for the grading server")
