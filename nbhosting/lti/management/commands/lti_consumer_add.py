import secrets

from django.core.management.base import CommandError

from nbhosting.cli import NbhCommand
from nbhosting.courses.models import Course
from nbhosting.lti.config import tool_url
from nbhosting.lti.models import Consumer


class Command(NbhCommand):
    help = ("Registers an LTI 1.1 consumer (an older LMS): its OAuth key and secret (made up when not "
            "given, and printed once) and the courses its launches may open.")

    def add_arguments(self, parser):
        parser.add_argument("key", help="the consumer key, as typed in the LMS")
        parser.add_argument("--secret-file", help="a file holding the shared secret (default: a new one)")
        parser.add_argument("--course", action="append", default=[], metavar="COURSE")
        parser.add_argument("--name", default="")

    def handle(self, key, **options):
        if not (0 < len(key) <= 100) or not key.isprintable() or " " in key:
            raise CommandError(f"invalid consumer key {key!r}: 1-100 printable characters, no spaces")
        secret = ""
        if options["secret_file"]:
            try:
                secret = open(options["secret_file"]).read().strip()
            except OSError as exc:
                raise CommandError(f"cannot read {options['secret_file']}: {exc.strerror}") from None
            if len(secret) < 16:
                raise CommandError("the secret must have at least 16 characters")
        courses = list(Course.objects.filter(name__in=options["course"]))
        missing = set(options["course"]) - {c.name for c in courses}
        if missing:
            raise CommandError(f"no course named {sorted(missing)[0]}")
        consumer = Consumer.objects.filter(key=key).first()
        made = secret or (secrets.token_urlsafe(32) if consumer is None else "")
        if consumer is None:
            consumer = Consumer.objects.create(key=key, secret=made, name=options["name"])
        elif made:
            Consumer.objects.filter(pk=consumer.pk).update(secret=made)
        consumer.courses.add(*courses)
        self.stdout.write(f"consumer {key}: launch URL {tool_url('lti:lti11-launch')}")
        if made and not secret:
            self.stdout.write(f"secret (shown once): {made}")
