"""Warm pools on a real stack: the monitor starts a course's pool servers (real podman containers
running real Jupyter), a new student's first link claims one without a restart, and it is then
exactly that student's: their uid, their workspace with their notebook, their secret; Jupyter in
it runs a cell and saves the notebook; two new students racing for the last slot get two servers."""
import json
import stat
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.helpers import SERVER_URL, follow_progress, new_student, open_link
from tests.jupyter_api import contents, execute

SIZE = 3


@pytest.fixture(scope="module")
def pooled(stack, demo_repo):
    course = stack.course("pooled", demo_repo, "--trust", "legacy")
    stack.nbh("course-update", course, "--pool", str(SIZE))
    stack.nbh("monitor", "--once")
    return course


def slots(stack, course: str, state: str = "free") -> dict[str, dict]:
    """The pool's slots by secret: container name, identity and uid, as the database has them."""
    rows = stack.query(
        "select c.secret, c.name, s.name, s.uid, c.state from pool_slot p join containers_container c "
        "on p.container_id = c.id join courses_course k on p.course_id = k.id "
        "join workspaces_student s on c.student_id = s.id where k.name = ? and p.state = ?", course, state)
    return {secret: {"name": name, "identity": who, "uid": uid, "state": cstate}
            for secret, name, who, uid, cstate in rows}


def uid_of(stack, student: str) -> int:
    return stack.query("select uid from workspaces_student where name = ?", student)[0][0]


def podman_state(stack, name: str) -> tuple[str, str, str]:
    info = stack.inspect(name)
    return info["Id"], info["State"]["StartedAt"], info["Config"]["User"]


def test_a_pooled_server_becomes_exactly_one_new_students(stack, pooled):
    free = slots(stack, pooled)
    assert len(free) == SIZE and all(s["state"] == "running" for s in free.values())
    assert all(s["identity"].startswith("_pool-") for s in free.values())
    before = {secret: podman_state(stack, s["name"]) for secret, s in free.items()}
    ann = new_student("ann")

    response = open_link(stack, "notebookLazyCopy", pooled, "intro", ann)

    assert response.status_code == 302
    found = SERVER_URL.match(response.headers["Location"])  # straight to the server: no progress page
    assert found and found["secret"] in free and found["path"] == "intro.ipynb"
    slot = free[found["secret"]]
    # The same container, never restarted, now ann's: her row, the slot's uid, her workspace.
    assert podman_state(stack, slot["name"]) == before[found["secret"]]
    assert uid_of(stack, ann) == slot["uid"]
    assert stack.query("select s.name from containers_container c join workspaces_student s "
                       "on c.student_id = s.id where c.secret = ?", found["secret"]) == [(ann,)]
    assert stack.query("select count(*) from workspaces_student where name = ?", slot["identity"]) == [(0,)]
    assert slots(stack, pooled, "claimed")[found["secret"]]["identity"] == ann
    folder = stack.data / "workspaces" / pooled / ann
    assert not (stack.data / "workspaces" / pooled / slot["identity"]).exists()
    assert folder.stat().st_uid == slot["uid"] and stat.S_IMODE(folder.stat().st_mode) == 0o700
    notebook = folder / "intro.ipynb"
    assert notebook.stat().st_uid == slot["uid"]

    # Jupyter in it sees ann's notebook, runs a cell as her uid, and saves.
    server = f"{stack.url}/c/{found['secret']}/"
    assert "intro.ipynb" in {item["name"] for item in contents(server, "")["content"]}
    model = contents(server, "intro.ipynb")
    printed = execute(server, "import os; print(os.getuid(), sorted(os.listdir('/home/jovyan')))")
    assert printed.startswith(f"{slot['uid']} ") and "'intro.ipynb'" in printed
    model["content"]["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "saved by ann"})
    saved = requests.put(f"{server}api/contents/intro.ipynb", timeout=30,
                         data=json.dumps({"type": "notebook", "format": "json", "content": model["content"]}))
    assert saved.status_code == 200, saved.text
    assert "saved by ann" in notebook.read_text() and notebook.stat().st_uid == slot["uid"]

    # Her link keeps leading to her server, and to no other pool server.
    again = open_link(stack, "notebookLazyCopy", pooled, "intro", ann)
    assert SERVER_URL.match(again.headers["Location"])["secret"] == found["secret"]
    others = set(free) - {found["secret"]}
    bob = new_student("bob")
    bobs = SERVER_URL.match(follow_progress(stack, open_link(stack, "notebookLazyCopy", pooled, "intro", bob))
                            .headers["Location"])["secret"]
    assert bobs != found["secret"] and bobs in others and uid_of(stack, bob) != uid_of(stack, ann)
    again = open_link(stack, "notebookLazyCopy", pooled, "intro", ann)
    assert SERVER_URL.match(again.headers["Location"])["secret"] == found["secret"]
    # What ann's container mounts: her workspace (the pool's folder, renamed) and nobody else's.
    mounts = [m["Source"] for m in stack.inspect(slot["name"])["Mounts"] if "/workspaces/" in m["Source"]]
    assert mounts == [str(stack.data / "workspaces" / pooled / slot["identity"])]  # the name at creation


def test_two_new_students_racing_for_the_last_slot_get_two_servers(stack, pooled):
    stack.nbh("course-update", pooled, "--pool", "1")
    stack.nbh("monitor", "--once")  # one warm server left: the others retired, or one started
    left = slots(stack, pooled)
    assert len(left) == 1 and next(iter(left.values()))["state"] == "running"
    racers = [new_student("race"), new_student("race")]
    with ThreadPoolExecutor(max_workers=2) as run:
        answers = list(run.map(lambda s: follow_progress(stack, open_link(stack, "notebookLazyCopy", pooled,
                                                                           "intro", s)), racers))
    assert [a.status_code for a in answers] == [302, 302]
    secrets = [SERVER_URL.match(a.headers["Location"])["secret"] for a in answers]
    uids = [uid_of(stack, s) for s in racers]
    assert secrets[0] != secrets[1] and uids[0] != uids[1]  # one server each
    assert sorted(secrets).count(next(iter(left))) == 1  # the warm one went to exactly one of them
    claimed = slots(stack, pooled, "claimed")
    for student, secret, uid in zip(racers, secrets, uids):
        if secret in left:
            assert claimed[secret]["identity"] == student and claimed[secret]["uid"] == uid
        assert (stack.data / "workspaces" / pooled / student / "intro.ipynb").stat().st_uid == uid
        owner = stack.query("select s.name from containers_container c join workspaces_student s "
                            "on c.student_id = s.id where c.secret = ?", secret)
        assert owner == [(student,)]


def test_deleting_a_pooled_course_removes_its_warm_servers_and_their_identities(stack, pooled):
    stack.nbh("course-update", pooled, "--pool", "2")
    stack.nbh("monitor", "--once")
    warm = slots(stack, pooled)
    assert len(warm) == 2 and all(s["state"] == "running" for s in warm.values())
    students = [name for (name,) in stack.query(
        "select s.name from pool_slot p join containers_container c on p.container_id = c.id "
        "join workspaces_student s on c.student_id = s.id where p.state = 'claimed'")]
    assert students  # the earlier tests' claims

    stack.nbh("course-delete", pooled, "--force")

    identities = [s["identity"] for s in warm.values()]
    assert stack.query(f"select count(*) from workspaces_student where name in ({', '.join('?' * 2)})",
                       *identities) == [(0,)]
    assert not [name for name in stack.podman_names() if name.startswith(f"{pooled}-x-")]
    kept = stack.query(f"select count(*) from workspaces_student where name in ({', '.join('?' * len(students))})",
                       *students)
    assert kept == [(len(students),)]  # students keep their identity and uid for other courses
