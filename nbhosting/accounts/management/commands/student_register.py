from django.conf import settings
from django.core.mail import send_mail
from django.core.management.base import CommandError
from django.template.loader import render_to_string

from nbhosting.accounts import roster
from nbhosting.accounts.views import set_password_path
from nbhosting.cli import NbhCommand, find_course
from nbhosting.courses.models import Course


def email_configured() -> bool:
    return settings.EMAIL_BACKEND != "django.core.mail.backends.console.EmailBackend"


class Command(NbhCommand):
    help = ("Register (or update) student accounts of a course from a CSV roster with the columns "
            "username, name, email, group. New accounts get a one-time link to choose their password, "
            "mailed where email is configured, printed otherwise.")

    def add_arguments(self, parser):
        parser.add_argument("course")
        parser.add_argument("csv")
        parser.add_argument("--claim-existing", action="store_true",
                            help="let a new account take a student id that exists without an account "
                                 "(an LMS id), with its workspaces")
        parser.add_argument("--base-url", default="", help="the site's address in the links "
                                                           "(default: NBH_BASE_URL)")
        parser.add_argument("--print-links", action="store_true", help="print the links even where email is configured")

    def handle(self, course, csv, **options):
        found = find_course(course)
        try:
            lines = roster.read(csv)
        except roster.RosterError as exc:
            raise CommandError(str(exc)) from None
        base = (options["base_url"] or settings.NBH_BASE_URL).rstrip("/")
        mail = email_configured() and not options["print_links"]
        outcomes = roster.register(found, lines, options["claim_existing"])
        for outcome in outcomes:
            self.stdout.write(self._describe(found, outcome, base, mail))
        counts = {action: sum(1 for o in outcomes if o.action == action)
                  for action in ("created", "updated", "unchanged", "refused")}
        summary = ", ".join(f"{n} {action}" for action, n in counts.items())
        if counts["refused"]:
            raise CommandError(f"{course}: {summary}; fix the refused lines and run again")
        self.stdout.write(f"{course}: {summary}")

    def _describe(self, course: Course, outcome: roster.Outcome, base: str, mail: bool) -> str:
        line = outcome.line
        text = f"{outcome.action} {line.username}" + (f" ({outcome.detail})" if outcome.detail else "")
        if outcome.action == "refused":
            return f"{text}: line {line.number}"
        if not outcome.needs_password:
            return text
        link = base + set_password_path(outcome.user)
        if mail and outcome.user.email:
            context = {"user": outcome.user, "course": course, "link": link}
            send_mail(render_to_string("accounts/welcome_subject.txt", context).strip(),
                      render_to_string("accounts/welcome_email.txt", context), None, [outcome.user.email])
            return f"{text}: password link mailed to {outcome.user.email}"
        return f"{text}: password link {link}"
