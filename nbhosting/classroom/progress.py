"""Where a student stands with each notebook of a course: opened it, modified it, holds an older
version than the course's. From the database (opens, the versions the workspace received) and
the files' own metadata, looked at without following the student's links: no process is started."""
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from nbhosting.classroom.tracks import Outline
from nbhosting.courses.models import Course
from nbhosting.stats.models import OpenEvent
from nbhosting.workspaces.models import NotebookVersion, Student
from nbhosting.workspaces.peek import Peek
from nbhosting.workspaces.workspace import workspace_dir


@dataclass(frozen=True)
class Progress:
    opened: bool = False
    modified: bool = False
    outdated: bool = False  # the course has a newer version than the one the student got

    @property
    def label(self) -> str:
        return ", ".join(word for word, on in (("opened", self.opened), ("modified", self.modified),
                                               ("newer version", self.outdated)) if on) or "not opened"


NOTHING = Progress()


def _notebook_keys(path: str) -> tuple[str, str]:
    """What an open records: the course path (git mode) or the copy's .ipynb path (MOOC links)."""
    return path, str(PurePosixPath(path).with_suffix(".ipynb"))


def opened_by(course: Course, students: Iterable[str]) -> dict[str, set[str]]:
    """The notebooks each student opened, as recorded (one grouped query on a covering index)."""
    result: dict[str, set[str]] = {}
    rows = OpenEvent.objects.filter(course=course.name, student__in=list(students)).values_list(
        "student", "notebook").distinct()
    for student, notebook in rows:
        result.setdefault(student, set()).add(notebook)
    return result


def versions_of(course: Course, students: Iterable[Student]) -> dict[int, dict[str, NotebookVersion]]:
    result: dict[int, dict[str, NotebookVersion]] = {}
    for version in NotebookVersion.objects.filter(course=course, student__in=list(students)):
        result.setdefault(version.student_id, {})[version.path] = version
    return result


def of_student(course: Course, student: Student, outline: Outline) -> dict[str, Progress]:
    opened = opened_by(course, [student.name]).get(student.name, set())
    versions = versions_of(course, [student]).get(student.pk, {})
    return progress(course, student, outline, opened, versions)


def progress(course: Course, student: Student, outline: Outline, opened: set[str],
             versions: dict[str, NotebookVersion]) -> dict[str, Progress]:
    result = {}
    with Peek(workspace_dir(course, student)) as peek:
        for entry in outline.entries:
            version = versions.get(entry.path)
            was_opened = any(key in opened for key in _notebook_keys(entry.path))
            if version is None:
                result[entry.path] = Progress(opened=was_opened)
                continue
            info = peek.stat(version.target)
            changed = info is not None and (info.st_mtime_ns, info.st_size) != (version.mtime_ns, version.size)
            result[entry.path] = Progress(opened=was_opened, modified=version.differs or changed,
                                          outdated=version.digest != entry.digest)
    return result
