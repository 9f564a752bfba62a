"""A student opens a notebook from an LMS link: copy, container, Jupyter, kernel; then reopens."""
import json
import subprocess

import requests

from tests.helpers import LMS, follow_progress, new_student, open_link, open_notebook
from tests.jupyter_api import contents, execute


def test_first_open_runs_the_notebook_as_the_students_uid(stack, legacy_course):
    student = new_student()
    server, path = open_notebook(stack, legacy_course, "w1/1.2-intro", student)
    assert path == "w1/1.2-intro.ipynb"

    page = requests.get(server + "notebooks/" + path, timeout=30)
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'self' http://127.0.0.2:*" in page.headers["Content-Security-Policy"]

    notebook = contents(server, path)
    assert notebook["type"] == "notebook"
    assert "Week 1" in notebook["content"]["cells"][0]["source"]
    # The data folder beside the notebook came along.
    assert [f["name"] for f in contents(server, "w1/data")["content"]] == ["numbers.csv"]

    (uid,) = stack.query("select uid from workspaces_student where name = ?", student)[0]
    assert int(stack.settings["NBH_UID_MIN"]) <= uid <= int(stack.settings["NBH_UID_MAX"])
    output = execute(server, "import os, csv\nprint(os.getuid(), os.getgid())\n"
                             "print(sum(int(r['y']) for r in csv.DictReader(open('w1/data/numbers.csv'))))")
    assert output.split() == [str(uid), str(uid), "12"]

    workspace = stack.data / "workspaces" / legacy_course / student
    assert workspace.stat().st_uid == uid and oct(workspace.stat().st_mode)[-3:] == "700"
    assert (workspace / path).stat().st_uid == uid


def test_container_is_confined(stack, legacy_course):
    student = new_student()
    open_notebook(stack, legacy_course, "intro.ipynb", student)
    (uid,) = stack.query("select uid from workspaces_student where name = ?", student)[0]
    info = stack.inspect(f"{legacy_course}-x-{student}")
    config, host = info["Config"], info["HostConfig"]
    assert config["User"] == f"{uid}:{uid}"
    assert host["NetworkMode"] == "none"
    assert not host.get("PortBindings")
    assert "no-new-privileges" in " ".join(host.get("SecurityOpt") or [])
    assert info["EffectiveCaps"] in (None, [])
    assert host["Memory"] == 1024**3 and host["PidsLimit"] == 512 and host["CpuQuota"] == 100000
    mounts = {m["Destination"]: m for m in info["Mounts"]}
    assert mounts["/home/jovyan"]["RW"] is True
    assert mounts["/course"]["RW"] is False
    assert mounts["/run/nbh-config"]["RW"] is False  # root's Jupyter configuration for this server
    assert set(mounts) == {"/home/jovyan", "/course", "/run/nbh", "/run/nbh-config"}
    # Nothing listens on a host TCP port: Jupyter's only endpoint is its unix socket.
    sockets = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True).stdout
    assert "jupyter" not in sockets


def test_reopen_is_warm_and_keeps_the_students_copy(stack, legacy_course):
    student = new_student()
    server, path = open_notebook(stack, legacy_course, "intro", student)
    name = f"{legacy_course}-x-{student}"
    created = stack.inspect(name)["Created"]
    notebook = contents(server, path)
    notebook["content"]["cells"][0]["source"] = "my own answer"
    requests.put(f"{server}api/contents/{path}", json={"type": "notebook", "content": notebook["content"]},
                 timeout=30).raise_for_status()

    again, again_path = open_notebook(stack, legacy_course, "intro.ipynb", student)
    assert (again, again_path) == (server, path)
    assert stack.inspect(name)["Created"] == created
    assert contents(server, path)["content"]["cells"][0]["source"] == "my own answer"
    events = stack.query("select action, cold from stats_openevent where student = ? order by id", student)
    assert events == [("created", 1), ("existing", 0)]


def test_reset_to_original_keeps_a_backup(stack, legacy_course):
    student = new_student()
    server, path = open_notebook(stack, legacy_course, "intro", student)
    notebook = contents(server, path)
    notebook["content"]["cells"][0]["source"] = "work in progress"
    requests.put(f"{server}api/contents/{path}", json={"type": "notebook", "content": notebook["content"]},
                 timeout=30).raise_for_status()

    open_notebook(stack, legacy_course, "intro", student, forcecopy="true")
    assert "Welcome" in contents(server, path)["content"]["cells"][0]["source"]
    backups = [f for f in contents(server, "")["content"] if f["name"].startswith("intro-backup-")]
    assert len(backups) == 1 and backups[0]["name"].endswith(".ipynb")
    kept = contents(server, backups[0]["path"])
    assert kept["content"]["cells"][0]["source"] == "work in progress"
    assert stack.query("select action from stats_openevent where student = ? order by id desc limit 1",
                       student) == [("reset",)]


def test_second_student_is_isolated(stack, legacy_course):
    alice, bob = new_student("alice"), new_student("bob")
    alice_server, path = open_notebook(stack, legacy_course, "intro", alice)
    bob_server, _ = open_notebook(stack, legacy_course, "intro", bob)
    assert alice_server != bob_server
    uids = dict(stack.query("select name, uid from workspaces_student where name in (?, ?)", alice, bob))
    assert uids[alice] != uids[bob]

    requests.put(f"{alice_server}api/contents/alice-secret.txt",
                 json={"type": "file", "format": "text", "content": "for alice only"}, timeout=30).raise_for_status()
    assert "alice-secret.txt" not in [f["name"] for f in contents(bob_server, "")["content"]]
    # From inside Bob's container, nothing of Alice's exists or is reachable.
    seen = execute(bob_server, "import os, glob\n"
                               "print([p for d in ('/home', '/tmp', '/run', '/course', '/mnt', '/srv')\n"
                               "       for p in glob.glob(d + '/**/alice-secret.txt', recursive=True)])\n"
                               "print(sorted(os.listdir('/home')), sorted(os.listdir('/run/nbh')))")
    assert seen.split("\n")[:2] == ["[]", "['jovyan'] ['jupyter.sock']"]
    # Knowing the course and the student is not enough to reach a server.
    for guess in (f"/c/{legacy_course}-x-{alice}/api/contents", f"/c/{alice}/api/contents",
                  "/c/" + "A" * 43 + "/api/contents"):
        assert requests.get(stack.url + guess, timeout=30).status_code == 404
    workspace = stack.data / "workspaces" / legacy_course
    assert (workspace / alice).stat().st_uid == uids[alice] and (workspace / bob).stat().st_uid == uids[bob]


def test_nbh_containers_lists_the_running_pair(stack, legacy_course):
    student = new_student()
    open_notebook(stack, legacy_course, "intro", student)
    rows = json.loads(stack.nbh("containers", "--json").stdout)
    row = next(r for r in rows if r["student"] == student)
    assert row == {**row, "course": legacy_course, "name": f"{legacy_course}-x-{student}", "state": "running"}
    assert row["created"]
    table = stack.nbh("containers").stdout
    assert f"{legacy_course}-x-{student}" in table
    assert table.splitlines()[0].split()[:3] == ["COURSE", "STUDENT", "STATE"]


def test_ipython_exercice_is_the_same_route(stack, legacy_course):
    student = new_student()
    response = follow_progress(stack, open_link(stack, "ipythonExercice", legacy_course, "intro", student, headers=LMS))
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/notebooks/intro.ipynb")


def test_network_is_a_course_opt_in(stack, demo_repo, legacy_course):
    course = stack.course("networked", demo_repo, "--trust", "legacy", "--network")
    server, _ = open_notebook(stack, course, "intro", new_student("net"))
    interfaces = execute(server, "import socket; print(sorted(n for _, n in socket.if_nameindex()))")
    assert "eth0" in interfaces
    assert "eth0" not in execute(open_notebook(stack, legacy_course, "intro", new_student())[0],
                                 "import socket; print(sorted(n for _, n in socket.if_nameindex()))")
