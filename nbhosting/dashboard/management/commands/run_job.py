from django.core.management.base import CommandError

from nbhosting.cli import NbhCommand
from nbhosting.dashboard import jobs
from nbhosting.dashboard.models import Job


class Command(NbhCommand):
    help = "Run one dashboard job (git pull, image build); the dashboard starts this detached."

    def add_arguments(self, parser):
        parser.add_argument("job_id", type=int)

    def handle(self, job_id, **options):
        job = Job.objects.filter(pk=job_id).select_related("course").first()
        if job is None:
            raise CommandError(f"no job #{job_id}")
        if job.state != Job.State.QUEUED:
            raise CommandError(f"job #{job_id} is {job.state}, not queued")
        job = jobs.run(job)
        self.stdout.write(f"job #{job.pk} {job.state}: {job.summary}")
        if job.state == Job.State.FAILED:
            raise CommandError(job.summary)
