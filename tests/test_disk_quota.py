"""No student can fill the disk for everyone: attacks from inside a real student's kernel.

The session's stack has its workspaces on a loop-mounted btrfs with quotas, set up by install.sh's
own function; this course gives each student 20 MB.
"""
import os
import re
import secrets
import subprocess

import pytest
import requests

from tests.helpers import new_student, open_link, open_notebook
from tests.jupyter_api import contents, execute

QUOTA_MB = 20
# Runs in the student's kernel: writes up to `megabytes` MiB, one at a time, and says how it ended.
FILL = '''
import errno, os
def fill(path, megabytes):
    written = 0
    try:
        with open(path, "wb") as f:
            chunk = b"x" * (1 << 20)
            for _ in range(megabytes):
                f.write(chunk)
                f.flush()
                written += 1
            os.fsync(f.fileno())
    except OSError as exc:
        return f"{errno.errorcode[exc.errno]} {written}"
    return f"OK {written}"
'''


def ended(output: str) -> tuple[str, int]:
    match = re.search(r"^(\w+) (\d+)$", output, re.M)
    assert match, output
    return match[1], int(match[2])


@pytest.fixture(scope="module")
def course(stack, demo_repo):
    name = stack.course("quota-" + secrets.token_hex(3), demo_repo, "--trust", "legacy")
    stack.nbh("course-update", name, "--quota", f"{QUOTA_MB}m")
    return name


@pytest.fixture(scope="module")
def full(stack, course):
    """A student whose kernel wrote 100 MiB into the workspace, with a quota of 20."""
    student = new_student("full")
    server, path = open_notebook(stack, course, "intro.ipynb", student)
    assert contents(server, path)["type"] == "notebook"  # as the browser loads it, before any code runs
    output = execute(server, FILL + "print(fill('/home/jovyan/big', 100))", timeout=120)
    return student, server, path, output


def test_writing_beyond_the_quota_fails_with_edquot(full):
    student, server, path, output = full
    status, written = ended(output)
    assert status == "EDQUOT"
    assert QUOTA_MB - 3 <= written <= QUOTA_MB


def test_the_student_at_quota_gets_clear_errors_and_can_clean_up(stack, course, full):
    student, server, path, _ = full
    # Jupyter's own save: the error names the cause.
    notebook = contents(server, path)
    notebook["content"]["cells"][0]["source"] = "y" * (2 << 20)
    response = requests.put(f"{server}api/contents/{path}", json={"type": "notebook", "content": notebook["content"]},
                            timeout=60)
    assert response.status_code >= 400 and "Disk quota exceeded" in response.text
    # A new notebook cannot be copied in: the gateway says why, instead of a vague failure.
    response = open_link(stack, "notebookLazyCopy", course, "w1/1.2-intro", student)
    assert response.status_code == 507 and "Your workspace is full" in response.text
    # Kernels still start (their connection files are on /tmp), so the student can delete files.
    output = execute(server, "import os\nos.remove('/home/jovyan/big')\nprint('removed')")
    assert "removed" in output
    stack.nbh("course-update", course, "--quota", f"{QUOTA_MB}m")  # nothing changes: a no-op apply
    assert ended(execute(server, FILL + "print(fill('/home/jovyan/again', 5))")) == ("OK", 5)


def test_another_student_of_the_course_is_unaffected(stack, course, full):
    other = new_student("other")
    server, path = open_notebook(stack, course, "intro.ipynb", other)
    assert contents(server, path)["type"] == "notebook"
    assert ended(execute(server, FILL + "print(fill('/home/jovyan/mine', 10))")) == ("OK", 10)
    notebook = contents(server, path)
    notebook["content"]["cells"][0]["source"] = "my answer"
    requests.put(f"{server}api/contents/{path}", json={"type": "notebook", "content": notebook["content"]},
                 timeout=30).raise_for_status()


# The ioctls by which a folder's owner makes a btrfs subvolume or snapshot, which no quota group
# would count. The second is the same number with high bits set: the kernel drops them.
SUBVOLUME = '''
import fcntl, os, struct
results = []
for number in (0x5000940E, 0x15000940E, 0x50009418, 0x50009401):
    name = f"escape{number:x}"
    fd = os.open("/home/jovyan", os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.ioctl(fd, number, bytearray(struct.pack("q4088s", fd, name.encode())))
        results.append("created")
    except OSError as exc:
        results.append(type(exc).__name__)
    finally:
        os.close(fd)
print(" ".join(results))
escaped = [n for n in os.listdir("/home/jovyan") if n.startswith("escape")]
print("ESCAPED", escaped)
for name in escaped:
    print(fill(f"/home/jovyan/{name}/big", 60))
'''


def test_a_nested_subvolume_does_not_escape_the_quota(stack, course):
    student = new_student("nest")
    server, _ = open_notebook(stack, course, "intro.ipynb", student)
    output = execute(server, FILL + SUBVOLUME, timeout=120)
    assert "created" not in output
    assert "ESCAPED []" in output
    workspace = stack.data / "workspaces" / course / student
    subvolumes = subprocess.run(["btrfs", "subvolume", "list", "-o", str(workspace)],
                                capture_output=True, text=True, check=True).stdout
    assert f"{course}/{student}/" not in subvolumes


def test_tmp_is_a_small_tmpfs_that_lands_nothing_on_the_host(stack, course):
    student = new_student("tmp")
    server, _ = open_notebook(stack, course, "intro.ipynb", student)
    info = stack.inspect(f"{course}-x-{student}")
    upper = info["GraphDriver"]["Data"].get("UpperDir")

    output = execute(server, FILL + "print(fill('/tmp/big', 400))\n"
                     "print(open('/proc/self/mounts').read())\nos.remove('/tmp/big')", timeout=180)
    status, written = ended(output)
    assert status == "ENOSPC" and 200 <= written <= 256
    assert re.search(r"^tmpfs /tmp tmpfs \S*size=262144k", output, re.M), output
    if upper:  # the container's own layer on the host's disk: nothing was written there
        size = subprocess.run(["du", "-sb", upper], capture_output=True, text=True).stdout.split()
        assert not size or int(size[0]) < 1 << 20


def test_the_socket_folder_holds_a_megabyte_and_the_server_goes_on(stack, course):
    """/run/nbh, where Jupyter binds its socket, is the student's to write: a tmpfs of the host's
    that holds NBH_SOCKET_FOLDER_SIZE (1m), not a folder on the host's disk."""
    student = new_student("sock")
    server, path = open_notebook(stack, course, "intro.ipynb", student)
    output = execute(server, FILL + "print(fill('/run/nbh/big', 50))", timeout=120)
    status, written = ended(output)
    assert status == "ENOSPC" and written <= 1
    host = stack.data / "run" / "servers" / f"{course}-x-{student}"
    mounted = subprocess.run(["findmnt", "-n", "-o", "FSTYPE,OPTIONS", str(host)],
                             capture_output=True, text=True).stdout
    assert mounted.startswith("tmpfs") and "size=1024k" in mounted, mounted
    assert contents(server, path)["type"] == "notebook"  # the server still answers through its link


def test_output_to_the_containers_stdout_does_not_fill_the_hosts_disk(stack, course):
    """The container's standard output, which podman keeps in a file on the host, is open to the
    student's code (through the init process's descriptor, which runs as the student too)."""
    student = new_student("log")
    server, _ = open_notebook(stack, course, "intro.ipynb", student)
    output = execute(server, """
import os
out = os.open("/proc/1/fd/1", os.O_WRONLY)
line = b"x" * 1023 + b"\\n"
for _ in range(30 * 1024):
    os.write(out, line)
print("wrote 30 MB")
""", timeout=180)
    assert "wrote 30 MB" in output
    size = os.path.getsize(stack.inspect(f"{course}-x-{student}")["HostConfig"]["LogConfig"]["Path"])
    assert size <= 5 << 20, size


def test_the_root_filesystem_is_read_only(stack, course):
    student = new_student("ro")
    server, _ = open_notebook(stack, course, "intro.ipynb", student)
    output = execute(server, '''
import errno
for path in ("/evil", "/usr/evil", "/var/tmp/evil", "/etc/evil"):
    try:
        open(path, "w").close()
        print(path, "WRITTEN")
    except OSError as exc:
        print(path, errno.errorcode[exc.errno])
''')
    assert output.split() == ["/evil", "EROFS", "/usr/evil", "EROFS", "/var/tmp/evil", "EROFS", "/etc/evil", "EROFS"]
    info = stack.inspect(f"{course}-x-{student}")
    assert info["HostConfig"]["ReadonlyRootfs"] is True


def test_staff_see_each_students_usage(stack, course, full):
    student = full[0]
    workspace = stack.data / "workspaces" / course / student
    subprocess.run(["sync", "-f", str(workspace)], check=True)  # btrfs counts at its next commit
    report = stack.nbh("quota-report", course).stdout
    assert f"quota {QUOTA_MB}.0 MB per student (btrfs)" in report
    row = next(line for line in report.splitlines() if line.startswith(student))
    assert re.search(rf"MB\s+{QUOTA_MB}\.0 MB\s+\d+%$", row), report

    password = stack.base / "quota-admin-password"
    password.write_text("admin-" + secrets.token_hex(8))
    stack.nbh("staff-create", "quota-admin", "--admin", "--password-file", str(password))
    session = requests.Session()
    session.get(f"{stack.url}/staff/login/", timeout=30)
    session.post(f"{stack.url}/staff/login/", timeout=30, data={
        "username": "quota-admin", "password": password.read_text(),
        "csrfmiddlewaretoken": session.cookies["csrftoken"]}).raise_for_status()
    page = session.get(f"{stack.url}/staff/course/{course}/", timeout=30).text
    cell = re.search(rf'<tr data-student="{student}">.*?<td class="disk[^"]*">([^<]*)</td>', page, re.S)
    assert cell and re.fullmatch(rf"[\d.]+ (kB|MB) of {QUOTA_MB}\.0 MB", cell[1]), page[-3000:]


def test_bad_quotas_are_refused(stack, course):
    for bad in ("lots", "20", "-1m", "1p"):
        proc = stack.nbh("course-update", course, f"--quota={bad}", check=False)
        assert proc.returncode != 0 and "not a size" in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert stack.query("select quota from courses_course where name = ?", course) == [(f"{QUOTA_MB}m",)]

