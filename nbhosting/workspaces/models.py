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


class Sync(models.Model):
    """One clone of the course into a git-mode workspace, or one merge of the course's new commits
    into it (nbgitpuller's, run as the student). The newest row says which course commit the
    workspace holds, so that an open merges only when the course moved on."""

    class Kind(models.TextChoices):
        CLONED = "cloned"  # an empty workspace became a clone
        ADOPTED = "adopted"  # a workspace holding files (MOOC copies) became a clone, keeping them
        MERGED = "merged"  # the course's new commits were merged in
        UNCHANGED = "unchanged"  # asked for, nothing new
        FAILED = "failed"  # the merge did not run or failed; the student's files were left as they were

    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="syncs")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="syncs")
    time = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    commit = models.CharField(max_length=40, blank=True, help_text="the course commit the workspace now holds")
    before = models.CharField(max_length=40, blank=True, help_text="the course commit it held before")
    # Lists of paths: what the course changed ([status, path]), where the student's edits were kept
    # over the course's, the student's files renamed out of the way of new course files
    # ([path, new path]).
    updated = models.JSONField(default=list)
    kept = models.JSONField(default=list)
    renamed = models.JSONField(default=list)
    error = models.TextField(blank=True)
    seen = models.BooleanField(default=False, help_text="the student dismissed this report")

    class Meta:
        indexes = [models.Index(fields=["course", "student", "-time"])]

    @property
    def changed_anything(self) -> bool:
        return bool(self.updated or self.kept or self.renamed or self.error)


def latest_sync(course_id: int, student_id: int) -> Sync | None:
    return Sync.objects.filter(course_id=course_id, student_id=student_id).order_by("-time", "-pk").first()


class NotebookVersion(models.Model):
    """The course version of one notebook that a workspace last received (a copy, a clone, a
    merge), and what its file looked like right after: a later size or time tells that the
    student modified it, an older digest than the course's that the course has a newer version."""
    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="notebook_versions")
    path = models.CharField(max_length=1000, help_text="the notebook's path in the course")
    target = models.CharField(max_length=1000, help_text="its path in the workspace")
    digest = models.CharField(max_length=40, help_text="git blob id of the course's file")
    differs = models.BooleanField(default=False, help_text="the student's file already differed from it")
    mtime_ns = models.BigIntegerField(null=True)
    size = models.BigIntegerField(null=True)
    time = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["course", "student", "path"], name="one_version_per_notebook")]
