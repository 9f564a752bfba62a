"""`nbh user-password`, `nbh user-delete`, `nbh user-list`: accounts managed without a terminal prompt."""
import io
import os
import secrets
import subprocess
from pathlib import Path

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError

from nbhosting.courses.models import Course

NBH = Path(__file__).resolve().parent.parent / "scripts" / "nbh"


@pytest.mark.django_db
def test_password_from_a_file(alice, tmp_path, capsys):
    secret = tmp_path / "pw"
    secret.write_text("a-new-long-password-7\n")
    call_command("user_password", "alice", "--password-file", str(secret))
    assert "password of alice changed" in capsys.readouterr().out
    assert authenticate(username="alice", password="a-new-long-password-7") is not None
    assert authenticate(username="alice", password="alice-password-1") is None


@pytest.mark.django_db
def test_password_from_standard_input(alice, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("from-stdin-password-9\n"))
    call_command("user_password", "alice", "--password-file", "-")
    assert authenticate(username="alice", password="from-stdin-password-9") is not None


@pytest.mark.django_db
@pytest.mark.parametrize("user, content, message", [
    ("alice", "short", "password refused"),
    ("alice", "73194820561", "password refused"),  # entirely numeric
    ("alice", "\n", "holds no password"),
    ("nobody", "a-good-long-password-1", "no user named 'nobody'"),
])
def test_bad_password_changes_nothing(alice, tmp_path, user, content, message):
    secret = tmp_path / "pw"
    secret.write_text(content)
    with pytest.raises(CommandError, match=message):
        call_command("user_password", user, "--password-file", str(secret))
    assert authenticate(username="alice", password="alice-password-1") is not None


@pytest.mark.django_db
def test_password_file_unreadable(alice):
    with pytest.raises(CommandError, match="cannot read /nonexistent/pw"):
        call_command("user_password", "alice", "--password-file", "/nonexistent/pw")


@pytest.mark.django_db
def test_delete_leaves_every_staff_list(courses, alice, bob, admin, capsys):
    physics, history = courses
    history.staff = "alice bob, @history-ta"
    history.save()
    call_command("user_delete", "alice")
    assert "deleted alice, removed from the staff of history, physics" in capsys.readouterr().out
    assert not User.objects.filter(username="alice").exists()
    # A later account named alice must not inherit alice's courses.
    assert Course.objects.get(name="physics").staff == "@physics-ta"
    assert Course.objects.get(name="history").staff == "bob @history-ta"


@pytest.mark.django_db
def test_the_only_admin_cannot_be_deleted(admin, alice):
    with pytest.raises(CommandError, match="root-admin is the only site admin"):
        call_command("user_delete", "root-admin")
    assert User.objects.filter(username="root-admin").exists()
    # An inactive admin is no admin: it cannot take over.
    User.objects.create_user("dormant", is_staff=True, is_active=False)
    with pytest.raises(CommandError, match="only site admin"):
        call_command("user_delete", "root-admin")
    User.objects.create_user("second-admin", is_staff=True)
    call_command("user_delete", "root-admin")
    assert not User.objects.filter(username="root-admin").exists()


@pytest.mark.django_db
def test_the_only_superuser_cannot_be_deleted(admin):
    User.objects.create_superuser("super", password="super-password-1")
    with pytest.raises(CommandError, match="super is the only superuser"):
        call_command("user_delete", "super")
    assert User.objects.filter(username="super").exists()


@pytest.mark.django_db
def test_delete_unknown_user():
    with pytest.raises(CommandError, match="no user named 'ghost'"):
        call_command("user_delete", "ghost")


@pytest.mark.django_db
def test_list(courses, alice, admin, capsys):
    call_command("user_list")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["USER", "ADMIN", "SUPERUSER", "ACTIVE", "LAST", "LOGIN", "STAFF", "OF"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:]}
    assert rows["alice"] == ["no", "no", "yes", "never", "physics"]
    assert rows["root-admin"] == ["yes", "no", "yes", "never", "-"]


@pytest.fixture
def site_env(tmp_path):
    """A site of its own for the real `nbh` command: an env file and a migrated SQLite database."""
    data = tmp_path / "data"
    data.mkdir()
    env_file = tmp_path / "nbhosting.env"
    env_file.write_text(f"NBH_DATA_ROOT={data}\nNBH_SECRET_KEY={secrets.token_urlsafe(40)}\n"
                        f"NBH_INSTANCE=test-unit-{secrets.token_hex(4)}\n")
    env = {**os.environ, "NBH_ENV_FILE": str(env_file)}
    subprocess.run([NBH, "migrate", "-v0"], env=env, check=True, capture_output=True, timeout=300)
    return env


def nbh(env: dict, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([NBH, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120)


def test_the_commands_run_without_a_terminal(site_env, tmp_path):
    """Through the real `nbh`, stdin not a terminal: the password comes from a file or a pipe,
    and every refusal is one line on stderr with a non-zero exit."""
    first = tmp_path / "first"
    first.write_text("first-long-password-1\n")
    assert nbh(site_env, "staff-create", "boss", "--admin", "--password-file", str(first)).returncode == 0
    changed = nbh(site_env, "user-password", "boss", "--password-file", "-", stdin="second-long-password-2\n")
    assert changed.returncode == 0, changed.stderr
    assert changed.stdout.strip() == "password of boss changed"

    refused = nbh(site_env, "user-delete", "boss")
    assert refused.returncode != 0
    assert refused.stderr.count("\n") == 1 and "boss is the only site admin" in refused.stderr
    missing = nbh(site_env, "user-password", "boss")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "--password-file" in missing.stderr

    assert nbh(site_env, "staff-create", "other", "--admin").returncode == 0
    assert nbh(site_env, "user-delete", "boss").stdout.strip() == "deleted boss"
    listed = nbh(site_env, "user-list").stdout.splitlines()
    assert [line.split()[0] for line in listed] == ["USER", "other"]
