"""What the account commands share: finding a user by name, and who the site's admins are."""
from django.contrib.auth.models import User
from django.core.management.base import CommandError


def existing_user(username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"no user named {username!r} (nbh user-list lists them)")
    return user


def other_active(user: User, **role: bool) -> bool:
    """Whether an active account other than `user` has this role (is_staff=True, is_superuser=True)."""
    return User.objects.filter(is_active=True, **role).exclude(pk=user.pk).exists()
