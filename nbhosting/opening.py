"""Opening a course notebook for a student: the one service behind every door (LMS links, LTI
launches, the classroom's pages). The caller has already validated names and decided that this
person may open this notebook as this student; here the workspace gets its copy (or clone), the
pair's server runs, the open is recorded, and the caller gets the server URL to send the browser to.

A server that is not running is started outside the request (nbhosting.starts: a queue with a
bound on concurrent starts). If it is ready within NBH_START_WAIT seconds the caller still gets
the server's URL; otherwise it gets the progress page's, which moves on to the server by itself.
Either way the caller redirects to `Opened.url`.
"""
import time
from dataclasses import dataclass
from urllib.parse import quote

from django.conf import settings
from django.utils import timezone

from nbhosting.containers import kernels
from nbhosting.containers.lease import LeaseTimeout, lease
from nbhosting.containers.models import Container
from nbhosting.containers.spawn import SpawnError, get_record
from nbhosting.courses.models import Course
from nbhosting.exchange import sources
from nbhosting.pool.claim import claim as claim_pool_server
from nbhosting.starts import queue, service
from nbhosting.starts.models import Start
from nbhosting.stats.models import OpenEvent, record_open
from nbhosting.workspaces import workspace
from nbhosting.workspaces.models import Student, Sync, UidRangeExhausted, latest_sync
from nbhosting.workspaces.notebooks import Notebook

# What a caller turns into a 503 page: the student's files are safe, trying again may work.
NotStarted = (SpawnError, LeaseTimeout, UidRangeExhausted, workspace.WorkspaceError)
# What a caller turns into a 409 page: the workspace cannot be used this way; nothing was changed.
Conflict = workspace.WorkspaceConflict
# What a caller turns into a 507 page, before NotStarted (which it is one of): the student's disk
# quota is reached, so the notebook could not be copied in.
Full = workspace.WorkspaceFull
# What a caller turns into a 500 page, before NotStarted (which it is one of): the course's files
# could not be copied (what the copy had made is removed); the course's staff must look.
CopyFailed = workspace.CopyFailed


@dataclass(frozen=True)
class Opened:
    url: str  # the server's path for this notebook, /c/<secret>/notebooks/<path>, or the progress page's
    container: Container
    action: str  # created, existing, reset or cloned
    cold: bool
    seconds: float
    pending: bool = False  # url is the progress page: the server is still starting


def open_notebook(course: Course, student: Student, notebook: Notebook, *, git_mode: bool = False,
                  reset: bool = False) -> Opened:
    """Raises Conflict (before anything changed), Full, or one of NotStarted."""
    started = time.monotonic()
    claim_pool_server(course, student)  # a new student's first open takes a warm server (nbhosting/pool)
    if git_mode:
        action, target = _clone(course, student), notebook.source.relative_to(course.repo_dir)
    else:
        action, target = workspace.copy_notebook(course, student, notebook, reset).action, notebook.target
    record = get_record(course, student)
    page = settings.NBH_URL_FORMAT.format(notebook=quote(str(target)))
    if service.answering(record):
        kernels.prestart(record, str(target))  # the page finds its kernel running
        seconds = time.monotonic() - started
        Container.objects.filter(pk=record.pk).update(last_open=timezone.now())
        record_open(course.name, student.name, str(target), action, False, seconds)
        return Opened(record.base_url + page, record, action, False, seconds)
    start = service.wait(service.begin(record, page, str(target), action), settings.NBH_START_WAIT)
    seconds = time.monotonic() - started
    if start.state == Start.State.READY:
        queue.deliver(start)
        return Opened(start.url, record, action, start.cold, seconds)
    if start.state == Start.State.FAILED:
        raise SpawnError(start.error)
    return Opened(service.progress_url(start), record, action, True, seconds, pending=True)

def _clone(course: Course, student: Student) -> str:
    cloned = update_clone(course, student)
    return OpenEvent.Action.CLONED if cloned and cloned.kind in (Sync.Kind.CLONED, Sync.Kind.ADOPTED) \
        else OpenEvent.Action.EXISTING


def update_clone(course: Course, student: Student, force: bool = False) -> Sync | None:
    """Git mode: clones the course into the workspace, or merges the course's new commits into it
    (`force`: even when the course did not move, as when the student asks). Returns the clone's or
    merge's report, None when there was nothing to do. Under the pair's lease: twenty simultaneous
    first opens must not clone twenty times, nor two opens merge at once."""
    if not force and workspace.is_clone(course, student) and not workspace.behind(course, student):
        return None  # the common case, as fast as a warm open: one look and one query, no lease
    if sources.refuses_clone(course):
        raise Conflict(f"{course.name} keeps nbgrader's sources (with their solutions) in its repository, "
                       "and a clone would carry them: open its notebooks one by one instead")
    with lease(get_record(course, student)):
        if workspace.git_clone(course, student):
            return latest_sync(course.pk, student.pk)
        if force or workspace.behind(course, student):
            return workspace.git_merge(course, student)
    return None
