from nbhosting.accounts.management.commands._users import existing_user
from nbhosting.accounts.passwords import read_password_file
from nbhosting.cli import NbhCommand


class Command(NbhCommand):
    help = "Set an account's password from a file (or - for standard input), without a prompt."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--password-file", required=True, help="a file holding the password, or - for stdin")

    def handle(self, username, password_file, **options):
        user = existing_user(username)
        password = read_password_file(password_file, user)
        user.set_password(password)
        user.save(update_fields=["password"])
        self.stdout.write(f"password of {username} changed")
