"""A student controls the socket folder mounted in their container and their own Jupyter
configuration. Whatever they do there, their link reaches their own server or the "stopped" page,
never another student's server nor the grading server. Every attack runs in the student's kernel."""
import os
import re
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest
import requests

from tests.helpers import follow_progress, open_link, open_notebook
from tests.jupyter_api import contents, execute
from tests.stack import Stack, make_repo
from tests.test_nbgrader_exchange import IMAGE, login, make_user

COURSE = "iso"
GRADED = "isonbg"

# The attack of issue 10: the student's socket goes aside, and a symlink to another server's
# socket takes its name, in the folder that nginx used to reach this server through.
REDIRECT = """\
import os
os.rename('/run/nbh/jupyter.sock', '/run/nbh/.real.sock')
os.symlink({target!r}, '/run/nbh/jupyter.sock')
print(os.readlink('/run/nbh/jupyter.sock'))
"""

# The student's own Jupyter configuration (in their home, read at every start) binds the server
# elsewhere and leaves something else under the socket's name before the start is over.
SWAPPED_START = """\
import os
import jupyter_server.serverapp as serverapp

_bind = serverapp.bind_unix_socket


def _elsewhere(path, *args, **kwargs):
    sock = _bind('/run/nbh/.real.sock', *args, **kwargs)
    {leave}
    return sock


serverapp.bind_unix_socket = _elsewhere
"""
LEAVE = {
    # Relative: it resolves to the real server both in the container and on the host.
    "symlink": "os.symlink('.real.sock', path)",
    "file": "open(path, 'w').close()",
}


@pytest.fixture(scope="module")
def iso():
    base = Path(tempfile.mkdtemp(prefix="nbh-iso-", dir="/var/tmp"))
    stack = Stack(base, NBH_SPAWN_TIMEOUT="60", NBH_GUNICORN_WORKERS="2")
    try:
        stack.start()
        stack.course(COURSE, make_repo(base / "repo"), "--trust", "legacy")
        yield stack
    finally:
        stack.stop()
        shutil.rmtree(base, ignore_errors=True)


def secret_of(server: str) -> str:
    return server.rstrip("/").split("/")[-1]


def socket_path(stack: Stack, course: str, student: str) -> str:
    """Where the other server's socket is on the host: what the student aims their symlink at."""
    return str(stack.data / "run" / "servers" / f"{course}-x-{student}" / "sock" / "jupyter.sock")


def responses(server: str) -> list[requests.Response]:
    return [requests.get(server + path, timeout=60) for path in ("x", "api/status", "api/contents", "tree")]


def assert_own_server(server: str, marker: str) -> None:
    """The student's own server answers on their link: its pages carry its own secret, and its
    files are the student's."""
    page = requests.get(server + "x", timeout=60)
    assert page.status_code == 404 and secret_of(server) in page.text
    assert marker in [f["name"] for f in contents(server, "")["content"]]


def put_marker(server: str, name: str) -> None:
    requests.put(f"{server}api/contents/{name}", json={"type": "file", "format": "text", "content": name},
                 timeout=30).raise_for_status()


def test_redirected_socket_never_reaches_another_students_server(iso):
    alice, _ = open_notebook(iso, COURSE, "intro", "alice")
    bob, _ = open_notebook(iso, COURSE, "intro", "bob")
    put_marker(alice, "alice.txt")
    put_marker(bob, "bob.txt")

    target = socket_path(iso, COURSE, "bob")
    assert execute(alice, REDIRECT.format(target=target)).strip() == target
    for response in responses(alice):
        assert secret_of(bob) not in response.text, response.url
        assert "bob.txt" not in response.text
    assert_own_server(alice, "alice.txt")
    # The monitor's probes and the next open's warm check go through the platform's link too.
    iso.nbh("monitor", "--once")
    again, _ = open_notebook(iso, COURSE, "intro", "alice")
    assert again == alice
    assert_own_server(alice, "alice.txt")
    assert secret_of(bob) not in requests.get(alice + "api/kernels", timeout=60).text


def test_removed_socket_gives_the_students_own_server_or_nothing(iso):
    """With its socket gone from the folder, a link still reaches the server's own socket; once the
    server stops, nothing answers there but the "stopped" page."""
    server, _ = open_notebook(iso, COURSE, "intro", "dave")
    put_marker(server, "dave.txt")
    execute(server, "import os; os.unlink('/run/nbh/jupyter.sock')")
    assert_own_server(server, "dave.txt")
    requests.post(server.replace(f"/c/{secret_of(server)}/", f"/stop/{secret_of(server)}/"), timeout=120)
    gone = requests.get(server + "api/status", timeout=60)
    assert gone.status_code == 503 and "Your notebook server is stopped" in gone.text


def test_restart_links_the_new_socket_and_keeps_no_old_one(iso):
    server, _ = open_notebook(iso, COURSE, "intro", "erin")
    secret = secret_of(server)
    links = iso.data / "run" / "links"
    before = os.stat(links / f"{secret}.sock")  # the link leads to root's hard link of the socket
    iso.nbh("container-stop", COURSE, "erin")
    assert not [p for p in links.iterdir() if secret in p.name]
    assert open_notebook(iso, COURSE, "intro", "erin")[0] == server
    link = os.stat(links / f"{secret}.sock")
    bound = os.lstat(socket_path(iso, COURSE, "erin"))
    assert stat.S_ISSOCK(link.st_mode) and (link.st_dev, link.st_ino) == (bound.st_dev, bound.st_ino)
    assert link.st_ino != before.st_ino
    assert [p.name for p in links.iterdir() if secret in p.name] == [f"{secret}.sock"]
    # The link belongs to the platform: the student's uid owns the socket, not the folder.
    assert links.stat().st_uid == 0 and links.stat().st_mode & 0o022 == 0
    put_marker(server, "erin.txt")
    frank, _ = open_notebook(iso, COURSE, "intro", "frank")
    execute(server, REDIRECT.format(target=socket_path(iso, COURSE, "frank")))
    assert secret_of(frank) not in requests.get(server + "x", timeout=60).text
    assert_own_server(server, "erin.txt")


def test_an_older_versions_symlink_gives_way_to_the_socket_itself(iso):
    """A site upgraded while servers run: their links were symlinks into the students' folders.
    The monitor removes them, and the next open links the socket itself."""
    server, _ = open_notebook(iso, COURSE, "intro", "ivan")
    link = iso.data / "run" / "links" / f"{secret_of(server)}.sock"
    link.unlink()
    link.symlink_to(socket_path(iso, COURSE, "ivan"))
    iso.nbh("monitor", "--once")
    assert not os.path.lexists(link)
    assert requests.get(server + "api/status", timeout=60).status_code == 503
    assert open_notebook(iso, COURSE, "intro", "ivan")[0] == server
    assert os.readlink(link) == str(iso.data / "run" / "servers" / f"{COURSE}-x-ivan" / "jupyter.sock")
    assert stat.S_ISSOCK(os.stat(link).st_mode)
    put_marker(server, "ivan.txt")
    assert_own_server(server, "ivan.txt")


@pytest.mark.parametrize("leave", sorted(LEAVE))
def test_socket_replaced_before_the_start_ends_is_refused(iso, leave):
    """The student's own configuration runs in the server before it binds: what it leaves under
    the socket's name is never linked for nginx, and the start fails cleanly."""
    student = f"swap{leave}"
    server, _ = open_notebook(iso, COURSE, "intro", student)
    config = "import os, pathlib\n" \
             "folder = pathlib.Path.home() / '.jupyter'\n" \
             "folder.mkdir(exist_ok=True)\n" \
             f"(folder / 'jupyter_server_config.py').write_text({SWAPPED_START.format(leave=LEAVE[leave])!r})\n"
    execute(server, config)
    iso.nbh("container-stop", COURSE, student)

    # The start runs in the queue: the progress page says it failed, as a browser would see it.
    refused = follow_progress(iso, open_link(iso, "notebookLazyCopy", COURSE, "intro", student))
    assert refused.status_code == 503 and "could not start" in refused.text
    assert not [n for n in iso.podman_names() if n == f"{COURSE}-x-{student}"]
    log = (iso.base / "gunicorn.log").read_text()
    kind = {"symlink": "a symbolic link", "file": "a regular file"}[leave]
    assert re.search(rf"spawn of {COURSE}-x-{student} failed: .*socket is {kind}", log), log[-2000:]
    assert not (iso.data / "run" / "links" / f"{secret_of(server)}.sock").exists()
    gone = requests.get(server + "api/status", timeout=60)
    assert gone.status_code == 503 and "Your notebook server is stopped" in gone.text

    # Nothing is left to block the next start once the student's configuration is gone.
    (iso.data / "workspaces" / COURSE / student / ".jupyter" / "jupyter_server_config.py").unlink()
    assert open_notebook(iso, COURSE, "intro", student)[0] == server
    assert requests.get(server + "api/status", timeout=60).status_code == 200


@pytest.fixture(scope="module")
def graded(iso):
    """An nbgrader course, its instructors' server opened by an instructor, and a student's."""
    iso.course(GRADED, make_repo(iso.base / "graded-repo"), "--trust", "legacy", "--image", IMAGE)
    iso.nbh("course-nbgrader", GRADED, "on")
    make_user(iso, "isograder")
    iso.nbh("course-instructor-add", GRADED, "isograder")
    opened = login(iso, "isograder").get(f"{iso.url}/instructor/{GRADED}/", allow_redirects=False, timeout=300)
    assert opened.status_code == 302, opened.text
    teacher = iso.url + opened.headers["Location"].removesuffix("formgrader")
    assert requests.get(teacher + "formgrader", timeout=60).status_code == 200
    student, _ = open_notebook(iso, GRADED, "intro", "gina")
    return teacher, student


def test_redirected_socket_never_reaches_the_grading_server(iso, graded):
    teacher, student = graded
    put_marker(student, "gina.txt")
    execute(student, REDIRECT.format(target=socket_path(iso, GRADED, f"_instructors-{GRADED}")))
    for response in [*responses(student), requests.get(student + "formgrader", timeout=60)]:
        assert secret_of(teacher) not in response.text, response.url
        assert "Manage Assignments" not in response.text
    assert requests.get(student + "formgrader", timeout=60).status_code == 404
    assert_own_server(student, "gina.txt")
    assert requests.get(teacher + "formgrader", timeout=60).status_code == 200


def test_grading_servers_socket_is_linked_like_any_other(iso, graded):
    teacher, _ = graded
    link = os.stat(iso.data / "run" / "links" / f"{secret_of(teacher)}.sock")  # root's hard link of the socket
    uid = iso.query("SELECT uid FROM workspaces_student WHERE name = ?", f"_instructors-{GRADED}")[0][0]
    assert stat.S_ISSOCK(link.st_mode) and link.st_uid == uid


def test_server_configuration_is_the_platforms_and_read_only(iso):
    """"Stop my server" comes from a folder of root's, mounted read-only, apart from the socket's."""
    server, _ = open_notebook(iso, COURSE, "intro", "hank")
    name = f"{COURSE}-x-hank"
    mounts = {m["Destination"]: m for m in iso.inspect(name)["Mounts"]}
    assert mounts["/run/nbh-config"]["RW"] is False and mounts["/run/nbh"]["RW"] is True
    config = iso.data / "run" / "config" / name
    assert config.stat().st_uid == 0 and config.stat().st_mode & 0o022 == 0
    tried = execute(server, "import os\n"
                            "for path in ('/run/nbh-config/labconfig/x', '/run/nbh-config/x'):\n"
                            "    try:\n"
                            "        open(path, 'w')\n"
                            "    except OSError:\n"
                            "        print('refused')\n"
                            "print(sorted(os.listdir('/run/nbh')))")
    assert tried.split() == ["refused", "refused", "['jupyter.sock']"]
    proc = subprocess.run(["podman", "exec", name, "sh", "-c", "echo $JUPYTER_CONFIG_PATH"],
                          capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "/run/nbh-config"
