"""What the platform links for nginx out of a student's socket folder, on the real filesystem: a
socket bound by the student's uid, and nothing else (end to end: tests/test_socket_isolation.py)."""
import os
import secrets
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from nbhosting.containers import server_files
from nbhosting.containers.models import Container
from nbhosting.containers.server_files import UntrustedSocket
from nbhosting.workspaces.models import Student

# A server as the student would run it: binds, says so, answers one connection with its name.
SERVE = ("import socket, sys\n"
         "s = socket.socket(socket.AF_UNIX)\n"
         "s.bind(sys.argv[1])\n"
         "s.listen()\n"
         "print('ready', flush=True)\n"
         "c, _ = s.accept()\n"
         "c.sendall(sys.argv[2].encode())\n")


@pytest.fixture
def record(settings):
    # A short data root: a unix socket's path must fit in 108 bytes.
    settings.DATA_ROOT = Path(tempfile.mkdtemp(prefix="nbh-sf-", dir="/tmp"))
    settings.DATA_ROOT.chmod(0o711)  # as install.sh leaves it: the student's server below binds from the host
    student = Student(name="alice", uid=3_990_000 + secrets.randbelow(9000))
    made = Container(name="course-x-alice", student=student)
    server_files.prepare(made)
    yield made
    server_files.discard(made)  # unmounts the server's tmpfs
    shutil.rmtree(settings.DATA_ROOT)


def serve(path: str, uid: int, answer: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", SERVE, path, answer], user=uid, group=uid,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def stop(server: subprocess.Popen) -> None:
    """Killed and gone: its bound socket, in the server's tmpfs, would keep the unmount of the
    fixture's teardown busy (seen on a loaded machine)."""
    server.kill()
    server.wait(30)


def ask(path: os.PathLike) -> str:
    with socket.socket(socket.AF_UNIX) as client:
        client.connect(str(path))
        return client.recv(100).decode()


def same_inode(link: os.PathLike, socket_path: os.PathLike) -> bool:
    """The link leads to root's hard link, which is the socket's inode."""
    first, second = os.stat(link), os.lstat(socket_path)
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def hard_link(record: Container) -> Path:
    return record.server_dir / "jupyter.sock"


def links_of(record: Container) -> list[str]:
    return sorted(os.listdir(record.link.parent))


def test_prepare_gives_the_student_the_socket_folder_and_root_the_rest(record):
    folder = os.lstat(record.socket_dir)
    assert folder.st_uid == record.student.uid and stat.S_IMODE(folder.st_mode) == 0o2750
    for path in (record.link.parent, record.config_dir, record.config_dir / "labconfig"):
        assert path.stat().st_uid == 0 and path.stat().st_mode & 0o022 == 0
    assert server_files.adopt(record) is None  # nothing bound yet
    assert links_of(record) == []


def test_the_students_own_socket_is_linked_and_reached_through_the_link(record):
    server = serve(str(record.socket), record.student.uid, "alice's server")
    assert server_files.adopt(record) == record.link
    assert os.readlink(record.link) == str(hard_link(record))
    assert stat.S_ISSOCK(os.lstat(hard_link(record)).st_mode) and same_inode(record.link, record.socket)
    assert links_of(record) == [record.link.name]
    # The student renames it away and leaves a symlink to someone else's: the link holds the inode.
    other = serve(str(record.socket_dir.parent / "other.sock"), 0, "someone else's")
    record.socket.rename(record.socket_dir / ".real.sock")
    record.socket.symlink_to(record.socket_dir.parent / "other.sock")
    assert ask(record.link) == "alice's server"
    assert ask(record.socket_dir.parent / "other.sock") == "someone else's"
    server.wait(30), other.wait(30)


@pytest.mark.parametrize("kind", ["symlink", "file", "folder", "fifo"])
def test_anything_but_a_socket_is_refused_and_never_linked(record, kind):
    target = record.socket_dir.parent / "target.sock"
    other = serve(str(target), 0, "a socket elsewhere")
    make = {"symlink": lambda p: p.symlink_to(target), "file": lambda p: p.write_text(""),
            "folder": lambda p: p.mkdir(), "fifo": lambda p: os.mkfifo(p)}
    make[kind](record.socket)
    with pytest.raises(UntrustedSocket, match="not a socket: refused"):
        server_files.adopt(record)
    assert links_of(record) == [] and not os.path.lexists(hard_link(record))
    stop(other)


def test_a_socket_of_another_uid_is_refused(record):
    server = serve(str(record.socket), 0, "root's")
    with pytest.raises(UntrustedSocket, match=f"belongs to uid 0, not to the student's uid {record.student.uid}"):
        server_files.adopt(record)
    assert links_of(record) == []
    stop(server)


def test_a_new_socket_replaces_the_link_and_close_leaves_nothing(record):
    first = serve(str(record.socket), record.student.uid, "first")
    server_files.adopt(record)
    stop(first)
    record.socket.unlink()
    second = serve(str(record.socket), record.student.uid, "second")
    assert server_files.adopt(record) == record.link
    assert same_inode(record.link, record.socket) and ask(record.link) == "second"
    second.wait(30)
    assert server_files.leftover(record, gone=False)
    server_files.close(record)
    assert links_of(record) == [] and os.listdir(record.socket_dir) == []
    assert not server_files.leftover(record, gone=False) and server_files.leftover(record, gone=True)
    server_files.discard(record)
    assert not record.server_dir.exists() and not record.config_dir.exists()


def test_the_socket_folder_is_a_small_tmpfs_the_student_cannot_grow(record):
    """Whatever the student writes in their socket folder stays within its tmpfs's size, off the
    host's disk; root's hard link sits beside the folder, on the same filesystem, out of reach."""
    assert os.path.ismount(record.server_dir)
    folder, server = os.lstat(record.server_dir), os.lstat(record.socket_dir)
    assert folder.st_uid == 0 and stat.S_IMODE(folder.st_mode) == 0o711 and folder.st_dev == server.st_dev
    fill = ("import sys\n"
            "written = 0\n"
            "try:\n"
            "    with open(sys.argv[1], 'wb') as f:\n"
            "        for _ in range(64):\n"
            "            f.write(b'x' * 65536); f.flush(); written += 65536\n"
            "except OSError as e:\n"
            "    print(e.errno, written)\n")
    done = subprocess.run([sys.executable, "-c", fill, str(record.socket_dir / "big")], user=record.student.uid,
                          group=record.student.uid, capture_output=True, text=True, check=True)
    errno, written = done.stdout.split()
    assert int(errno) == 28 and int(written) <= 1024 * 1024  # ENOSPC within NBH_SOCKET_FOLDER_SIZE
    # Nor can the student make entries where root keeps its link.
    refused = subprocess.run([sys.executable, "-c", "import sys; open(sys.argv[1], 'w')",
                              str(record.server_dir / "jupyter.sock")], user=record.student.uid,
                             group=record.student.uid, capture_output=True, text=True)
    assert refused.returncode != 0 and "Permission denied" in refused.stderr
    server_files.discard(record)
    assert not os.path.ismount(record.server_dir) and not record.server_dir.exists()


def test_close_removes_the_students_entries_never_what_they_point_to(record, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("root's")
    (record.socket_dir / "link").symlink_to(outside)
    (record.socket_dir / "folder").mkdir()
    (record.socket_dir / "folder" / "inner").symlink_to(outside / "keep")
    server_files.close(record)
    assert os.listdir(record.socket_dir) == []
    assert (outside / "keep").read_text() == "root's"


def test_secret_of_link():
    secret = "a" * 43
    for name in (f"{secret}.sock", f".{secret}.new"):
        assert server_files.secret_of_link(name) == secret
