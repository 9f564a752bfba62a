from django.contrib.auth.models import User
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import ProtectedError, RestrictedError

from nbhosting.accounts.management.commands._users import existing_user, other_active
from nbhosting.cli import NbhCommand
from nbhosting.courses.models import Course


class Command(NbhCommand):
    help = ("Delete an account; refused while it is the only active site admin or superuser. Its "
            "student workspaces stay; its name leaves every course's staff list.")

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, username, **options):
        with transaction.atomic():
            user = existing_user(username)
            self._refuse_last_admin(user)
            courses = self._leave_staff_lists(username)
            try:
                user.delete()
            except (ProtectedError, RestrictedError) as exc:  # rolls the staff lists back too
                raise CommandError(f"{username} cannot be deleted: {exc.args[0]}") from None
        left = f", removed from the staff of {', '.join(courses)}" if courses else ""
        self.stdout.write(f"deleted {username}{left}")

    def _refuse_last_admin(self, user: User) -> None:
        # Without an admin nobody can manage the site from the dashboard; make another one first.
        if user.is_active and user.is_staff and not other_active(user, is_staff=True):
            raise CommandError(f"{user.username} is the only site admin: make another one first "
                               "(nbh staff-create NAME --admin)")
        if user.is_active and user.is_superuser and not other_active(user, is_superuser=True):
            raise CommandError(f"{user.username} is the only superuser: make another one first")

    def _leave_staff_lists(self, username: str) -> list[str]:
        """A name left in a staff list would make a later account of the same name staff there."""
        left = []
        for course in Course.objects.select_for_update().order_by("name"):
            entries = course.staff.replace(",", " ").split()
            if username in entries:
                course.staff = " ".join(entry for entry in entries if entry != username)
                course.save(update_fields=["staff"])
                left.append(course.name)
        return left
