from django.core.management.base import CommandError

from nbhosting.cli import NbhCommand
from nbhosting.lti.contexts import unlink
from nbhosting.lti.management.commands._contexts import add_lms_arguments, lms_named
from nbhosting.lti.models import Platform, StaffContext


class Command(NbhCommand):
    help = ("Unlinks an LMS course (an LTI context) from one of our courses (or from all, without COURSE): "
            "the staff rights its Instructors and TAs had there through it are taken back.")

    def add_arguments(self, parser):
        add_lms_arguments(parser)
        parser.add_argument("context_id")
        parser.add_argument("course", nargs="?", default="", help="our course (default: every one it is linked to)")

    def handle(self, platform, context_id, course, **options):
        lms = lms_named(platform, options["client_id"], options["lti11"])
        field = "platform" if isinstance(lms, Platform) else "consumer"
        mappings = StaffContext.objects.filter(**{field: lms}, context_id=context_id)
        if course:
            mappings = mappings.filter(course__name=course)
        names = sorted(mappings.values_list("course__name", flat=True))
        if not names:
            raise CommandError(f"{lms} context {context_id} is not linked to {course or 'any course'}")
        demoted = unlink(mappings)
        self.stdout.write(f"unlinked {lms} context {context_id} from {', '.join(names)}"
                          f"; {demoted} of its teachers are learners there now")
