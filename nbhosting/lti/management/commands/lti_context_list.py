import json

from nbhosting.cli import NbhCommand
from nbhosting.lti.models import StaffContext


class Command(NbhCommand):
    help = "The LMS courses (LTI contexts) whose Instructors and TAs are staff of our courses."

    def add_arguments(self, parser):
        parser.add_argument("--course", default="", help="only those linked to this course")
        parser.add_argument("--json", action="store_true")

    def handle(self, **options):
        mappings = StaffContext.objects.select_related("platform", "consumer", "course").order_by(
            "course__name", "platform__issuer", "consumer__key", "context_id")
        if options["course"]:
            mappings = mappings.filter(course__name=options["course"])
        rows = [{"course": m.course.name, "context_id": m.context_id,
                 "issuer": m.platform.issuer if m.platform else None,
                 "client_id": m.platform.client_id if m.platform else None,
                 "lti11_consumer": m.consumer.key if m.consumer else None,
                 "since": m.created.isoformat(timespec="seconds")} for m in mappings]
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        for row in rows:
            lms = (f"{row['issuer']} client {row['client_id']}" if row["issuer"]
                   else f"LTI 1.1 consumer {row['lti11_consumer']}")
            self.stdout.write(f"{row['course']}  <-  {lms}  context {row['context_id']}")
