import csv

from django.core.management.base import CommandError

from nbhosting.cli import NbhCommand
from nbhosting.exchange.gradebook import GradebookError, add_students
from nbhosting.exchange.management.commands._course import get_nbgrader
from nbhosting.names import InvalidName, validate_student

ID_COLUMNS = ("id", "student_id", "username")
FIELDS = ("first_name", "last_name", "email")


def read_roster(path: str) -> list[dict]:
    """Rows of a CSV with a header: id (or student_id, username), and any of first_name, last_name,
    email. One bad row refuses the whole file, so that nothing is half-imported."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as source:
            rows = list(csv.DictReader(source))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CommandError(f"cannot read {path}: {exc}") from None
    if not rows:
        raise CommandError(f"{path} holds no students")
    column = next((c for c in ID_COLUMNS if c in rows[0]), None)
    if column is None:
        raise CommandError(f"{path} has no id column (one of: {', '.join(ID_COLUMNS)})")
    students = []
    for line, row in enumerate(rows, start=2):
        try:
            student = {"id": validate_student((row.get(column) or "").strip())}
        except InvalidName as exc:
            raise CommandError(f"{path}, line {line}: {exc}") from None
        student.update({f: (row.get(f) or "").strip()[:128] for f in FIELDS if (row.get(f) or "").strip()})
        students.append(student)
    return students


class Command(NbhCommand):
    help = "Import a roster CSV (id, first_name, last_name, email) into a course's nbgrader gradebook."

    def add_arguments(self, parser):
        parser.add_argument("course")
        parser.add_argument("csv")

    def handle(self, course, csv, **options):
        nbgrader = get_nbgrader(course)
        students = read_roster(csv)
        try:
            result = add_students(nbgrader.course, students, overwrite=True)
        except GradebookError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{course}: {result['added']} student(s) added, {result['updated']} updated")
