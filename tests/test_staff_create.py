"""`nbh staff-create`: accounts for the dashboard."""
import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError

from nbhosting.courses.models import Course


@pytest.mark.django_db
def test_admin_with_password_file(tmp_path, capsys, site):
    secret = tmp_path / "pw"
    secret.write_text("a-long-password-42\n")
    call_command("staff_create", "boss", "--admin", "--password-file", str(secret))
    assert "created site admin boss" in capsys.readouterr().out
    user = authenticate(username="boss", password="a-long-password-42")
    assert user is not None and user.is_staff


@pytest.mark.django_db
def test_course_staff_with_generated_password(courses, capsys):
    call_command("staff_create", "dave", "--course", "physics", "--course", "history")
    out = capsys.readouterr().out
    password = out.split("password: ")[1].strip()
    user = authenticate(username="dave", password=password)
    assert user is not None and not user.is_staff
    assert "dave" in Course.objects.get(name="physics").staff_entries()[0]
    assert Course.objects.get(name="history").staff == "bob dave"
    # Running it again adds nothing twice and keeps the password.
    call_command("staff_create", "dave", "--course", "history")
    assert Course.objects.get(name="history").staff == "bob dave"
    assert authenticate(username="dave", password=password) is not None


@pytest.mark.django_db
@pytest.mark.parametrize("args, message", [
    (["bad user!"], "invalid username"),
    (["erin", "--course", "nope"], "no course named nope"),
    (["erin", "--password-file", "/nonexistent/pw"], "cannot read"),
])
def test_bad_input_creates_nobody(courses, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("staff_create", *args)
    assert not User.objects.exists()
