from django.contrib.auth.models import User
from django.utils.timezone import localtime

from nbhosting.cli import NbhCommand
from nbhosting.courses.models import Course


class Command(NbhCommand):
    help = "List the accounts: site admin or not, superuser, active, last login, courses they are staff of."

    def handle(self, **options):
        staff_of: dict[str, list[str]] = {}
        for course in Course.objects.order_by("name"):
            for username in course.staff_entries()[0]:
                staff_of.setdefault(username, []).append(course.name)
        row = "{:<24} {:<5} {:<9} {:<6} {:<16}  {}"
        self.stdout.write(row.format("USER", "ADMIN", "SUPERUSER", "ACTIVE", "LAST LOGIN", "STAFF OF"))
        for user in User.objects.order_by("username"):
            last = localtime(user.last_login).strftime("%Y-%m-%d %H:%M") if user.last_login else "never"
            self.stdout.write(row.format(
                user.username, yes(user.is_staff), yes(user.is_superuser), yes(user.is_active), last,
                " ".join(staff_of.get(user.username, [])) or "-"))


def yes(flag: bool) -> str:
    return "yes" if flag else "no"
