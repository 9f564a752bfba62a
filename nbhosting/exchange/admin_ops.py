"""What the admin commands do to a course's containers when its nbgrader settings change."""
from django.conf import settings

from nbhosting.containers.models import Container, new_secret
from nbhosting.containers.podman import backend
from nbhosting.containers.spawn import labels_of_course
from nbhosting.courses.models import Course
from nbhosting.exchange import layout


class ContainersRunning(RuntimeError):
    pass


def recreate_containers(course: Course, force: bool) -> int:
    """Containers get the exchange's mounts when they are created: after nbgrader is turned on or
    off, the course's containers are removed (workspaces stay) and the next open recreates them.
    Running ones are only stopped with force. Returns how many were removed."""
    infos = [i for i in backend().list(labels_of_course(course.name)) if "nbhosting.job" not in i.labels]
    running = [i.name for i in infos if i.running]
    if running and not force:
        raise ContainersRunning(
            f"{len(running)} container(s) of {course.name} are running and must be recreated to "
            "follow this change; use --force to stop them now"
        )
    for info in infos:
        backend().stop(info.name, settings.NBH_STOP_GRACE)
        backend().remove(info.name)
    Container.objects.filter(course=course).update(state=Container.State.ABSENT)
    return len(infos)


def revoke_instructors_server(course: Course) -> None:
    """The instructors' server is reached through a secret URL that a removed instructor may still
    know: the server is removed and its URL changes."""
    identity = layout.instructors(course)
    record = Container.objects.filter(course=course, student=identity).first()
    if record is None:
        return
    backend().stop(record.name, settings.NBH_STOP_GRACE)
    backend().remove(record.name)
    record.link.unlink(missing_ok=True)
    Container.objects.filter(pk=record.pk).update(secret=new_secret(), state=Container.State.ABSENT)
