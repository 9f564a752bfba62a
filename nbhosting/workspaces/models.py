"""Students, and the uid that owns their files and runs their containers."""
from django.conf import settings
from django.db import IntegrityError, models, transaction

from nbhosting.names import validate_student


class UidRangeExhausted(RuntimeError):
    pass


class Student(models.Model):
    name = models.CharField(max_length=64, unique=True, validators=[validate_student])
    # Allocated once from settings.NBH_UID_MIN..MAX and never reused.
    uid = models.PositiveIntegerField(unique=True, null=True)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

    @property
    def gid(self) -> int:
        # Each student is alone in their own group: nothing is shared by group with other students.
        return self.uid


def get_or_create_student(name: str) -> Student:
    """The row of a student id that came from an LMS or a command line, with its uid."""
    return get_or_create_account(validate_student(name))


def get_or_create_account(name: str) -> Student:
    """The row with a uid, for a student or for an identity the platform names itself (such as a
    course's instructors, named outside the student grammar so that no LMS id can take it).
    Concurrent first opens converge on one row: the unique name makes the losers of the insert
    race read the winner's row, and uid = base + primary key is collision-free without any lock."""
    student = Student.objects.filter(name=name).first()
    if student is None:
        try:
            with transaction.atomic():
                student = Student.objects.create(name=name)
        except IntegrityError:
            student = Student.objects.get(name=name)
    if student.uid is None:
        uid = settings.NBH_UID_MIN + student.pk - 1
        if uid > settings.NBH_UID_MAX:
            raise UidRangeExhausted(f"no uid left in {settings.NBH_UID_MIN}-{settings.NBH_UID_MAX}")
        Student.objects.filter(pk=student.pk, uid__isnull=True).update(uid=uid)
        student.refresh_from_db()
    return student
