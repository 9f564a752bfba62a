from django.conf import settings
from django.db.models import Count, Q

from nbhosting.cli import NbhCommand
from nbhosting.containers.models import Container
from nbhosting.courses.models import Course


class Command(NbhCommand):
    help = "List the courses."

    def handle(self, **options):
        running = Count("containers", filter=Q(containers__state=Container.State.RUNNING))
        courses = Course.objects.annotate(students=Count("containers"), running=running).order_by("name")
        row = "{:<20} {:<7} {:<12} {:>8} {:>8} {:>10}  {}"
        self.stdout.write(row.format("COURSE", "TRUST", "COMMIT", "STUDENTS", "RUNNING", "QUOTA", "IMAGE"))
        for c in courses:
            self.stdout.write(row.format(c.name, c.trust, c.commit[:12], c.students, c.running,
                                         c.quota or settings.NBH_QUOTA, c.image_name))
