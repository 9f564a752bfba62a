from django.core.management.base import CommandError

from nbhosting.cli import NbhCommand, find_course
from nbhosting.gateway.launch import DEFAULT_TTL, GIT_REPO, LAZY_COPY, signed_query
from nbhosting.names import InvalidName, validate_notebook_path, validate_student


class Command(NbhCommand):
    help = "Print a signed notebook link, as an LMS would make it."

    def add_arguments(self, parser):
        parser.add_argument("course")
        parser.add_argument("notebook")
        parser.add_argument("student")
        parser.add_argument("--ttl", type=int, default=DEFAULT_TTL, help="seconds the link stays valid")
        parser.add_argument("--base", default="", help="site URL to prefix, e.g. https://nb.example.edu")
        parser.add_argument("--git", action="store_true", help="a classroom (notebookGitRepo) link")

    def handle(self, course, notebook, student, ttl, base, git, **options):
        found = find_course(course)
        try:
            validate_notebook_path(notebook)
            validate_student(student)
        except InvalidName as exc:
            raise CommandError(str(exc)) from None
        route = GIT_REPO if git else LAZY_COPY  # the signature names it: it opens this entry point only
        query = signed_query(found, route, notebook, student, ttl)
        self.stdout.write(f"{base.rstrip('/')}/{route}/{course}/{notebook}/{student}?{query}")
