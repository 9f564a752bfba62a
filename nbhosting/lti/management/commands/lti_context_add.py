from django.core.management.base import CommandError

from nbhosting.cli import NbhCommand
from nbhosting.courses.models import Course
from nbhosting.lti.management.commands._contexts import add_lms_arguments, context_id_checked, lms_named
from nbhosting.lti.models import Platform, StaffContext


class Command(NbhCommand):
    help = ("Links an LMS course (an LTI context) to one of our courses: its Instructors and TAs become "
            "that course's staff and nbgrader instructors at their next launch. A teacher refused for an "
            "unlinked LMS course is shown the values to give.")

    def add_arguments(self, parser):
        add_lms_arguments(parser)
        parser.add_argument("context_id", help="the LMS course's context id, as its launches send it")
        parser.add_argument("course", help="our course")

    def handle(self, platform, context_id, course, **options):
        lms = lms_named(platform, options["client_id"], options["lti11"])
        context_id = context_id_checked(context_id)
        found = Course.objects.filter(name=course).first()
        if found is None:
            raise CommandError(f"no course named {course}")
        if not lms.courses.filter(pk=found.pk).exists():
            add = "lti-platform-add ... --course" if isinstance(lms, Platform) else "lti-consumer-add KEY --course"
            raise CommandError(f"{lms} may not open {course}: allow it first (nbh {add} {course})")
        field = "platform" if isinstance(lms, Platform) else "consumer"
        mapping, created = StaffContext.objects.get_or_create(**{field: lms}, context_id=context_id, course=found)
        self.stdout.write(f"{'linked' if created else 'already linked'}: {mapping}")
