from django.conf import settings
from django.db.models import Count, F, Q

from nbhosting.cli import NbhCommand
from nbhosting.containers.models import Container
from nbhosting.courses.models import Course
from nbhosting.pool.models import Slot
from nbhosting.pool.upkeep import warm_counts


class Command(NbhCommand):
    help = "List the courses."

    def handle(self, **options):
        # An unclaimed pool server is nobody's yet: counted as warm, not as a student's.
        students = ~Q(containers__pool_slot__state__in=(Slot.State.FREE, Slot.State.RETIRING))
        running = Count("containers", filter=students & Q(containers__state=Container.State.RUNNING))
        courses = Course.objects.annotate(students=Count("containers", filter=students), running=running,
                                          pool=F("pool_policy__size")).order_by("name")
        warm = warm_counts()
        row = "{:<20} {:<7} {:<12} {:>8} {:>8} {:>9} {:>10}  {}"
        self.stdout.write(row.format("COURSE", "TRUST", "COMMIT", "STUDENTS", "RUNNING", "WARM/POOL", "QUOTA", "IMAGE"))
        for c in courses:
            self.stdout.write(row.format(c.name, c.trust, c.commit[:12], c.students, c.running,
                                         f"{warm.get(c.pk, 0)}/{c.pool or 0}", c.quota or settings.NBH_QUOTA,
                                         c.image_name))
