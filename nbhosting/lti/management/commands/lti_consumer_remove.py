from django.core.management.base import CommandError

from nbhosting.cli import NbhCommand
from nbhosting.lti.contexts import unlink
from nbhosting.lti.models import Consumer, StaffContext


class Command(NbhCommand):
    help = "Removes an LTI 1.1 consumer; its students keep their identities and workspaces."

    def add_arguments(self, parser):
        parser.add_argument("key")

    def handle(self, key, **options):
        unlink(StaffContext.objects.filter(consumer__key=key))  # its teachers lose the staff rights it gave
        deleted, _ = Consumer.objects.filter(key=key).delete()
        if not deleted:
            raise CommandError(f"no LTI 1.1 consumer with key {key}")
        self.stdout.write(f"removed consumer {key}")
