"""Passwords that admins give to nbh commands in a file (never on the command line, where `ps` and
the shell's history would show them, and never at a terminal prompt, so that scripts can run them)."""
import sys
from pathlib import Path

from django.contrib.auth.models import User
from django.contrib.auth.password_validation import ValidationError, validate_password
from django.core.management.base import CommandError


def read_password_file(path: str, user: User | None = None) -> str:
    """The password in `path` (`-`: standard input), checked by the site's password rules."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    password = text.strip()
    if not password:
        raise CommandError(f"{path} holds no password")
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise CommandError(f"password refused: {' '.join(exc.messages)}") from None
    return password
