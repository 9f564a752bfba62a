from django.core.management.base import CommandError

from nbhosting.cli import NbhCommand
from nbhosting.lti.contexts import unlink
from nbhosting.lti.models import Platform


class Command(NbhCommand):
    help = ("Removes an LMS registration, or only some of its deployments or courses. Its students "
            "keep their identities and workspaces; its teachers lose the staff rights it gave.")

    def add_arguments(self, parser):
        parser.add_argument("issuer")
        parser.add_argument("client_id")
        parser.add_argument("--deployment", action="append", default=[], metavar="ID")
        parser.add_argument("--course", action="append", default=[], metavar="COURSE")

    def handle(self, issuer, client_id, **options):
        platform = Platform.objects.filter(issuer=issuer, client_id=client_id).first()
        if platform is None:
            raise CommandError(f"no registration of {issuer} with client id {client_id}")
        if not (options["deployment"] or options["course"]):
            unlink(platform.staff_contexts.all())  # its teachers lose the staff rights it gave
            platform.delete()
            self.stdout.write(f"removed {platform}")
            return
        platform.deployments.filter(deployment_id__in=options["deployment"]).delete()
        platform.courses.remove(*platform.courses.filter(name__in=options["course"]))
        unlink(platform.staff_contexts.filter(course__name__in=options["course"]))
        self.stdout.write(f"updated {platform}")
