from django.core.management.base import CommandError
from django.db import transaction

from nbhosting.cli import NbhCommand
from nbhosting.courses import repo
from nbhosting.courses.models import Course
from nbhosting.names import InvalidName, validate_course


class Command(NbhCommand):
    help = "Create a course from a git repository of notebooks."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("git_url")
        parser.add_argument("--image", default="", help="container image (default: the site's default)")
        parser.add_argument("--branch", default="")
        parser.add_argument("--trust", choices=Course.Trust.values, default=Course.Trust.SIGNED)
        parser.add_argument("--referer", action="append", default=[], help="Referer host for legacy links")
        parser.add_argument("--network", action="store_true", help="give the course's containers a network")

    def handle(self, name, git_url, **options):
        try:
            validate_course(name)
        except InvalidName as exc:
            raise CommandError(str(exc)) from None
        same = Course.objects.filter(name__iexact=name).first()
        if same is not None and same.name == name:
            raise CommandError(f"course {name} already exists")
        if same is not None:
            # Image names are lower case: the two courses would build into one image tag.
            raise CommandError(f"course {same.name} already exists; names may not differ in case only")
        course = Course(
            name=name, git_url=git_url, image=options["image"], branch=options["branch"],
            trust=options["trust"], referers=" ".join(options["referer"]), network=options["network"],
        )
        # The row and the clone exist together or not at all.
        with transaction.atomic():
            course.save()
            try:
                commit = repo.clone(course)
            except repo.RepoError as exc:
                raise CommandError(str(exc)) from None
        self.stdout.write(f"course {name} created at {commit[:12]}")
