"""The platform on PostgreSQL (DATABASE_URL) instead of the embedded SQLite: a private cluster,
a real stack on it, a first open and concurrent first opens of one pair."""
import shutil
import socket
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from tests.helpers import follow_progress, new_student, open_link, open_notebook
from tests.jupyter_api import execute
from tests.stack import Stack, make_repo

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    if not (PG_BIN / "initdb").exists():
        pytest.fail("PostgreSQL 15 is not installed; scripts/run-tests installs it")
    base = Path(tempfile.mkdtemp(prefix="nbh-pg-", dir="/var/tmp"))
    base.chmod(0o755)
    data, sockets, port = base / "data", base / "sock", free_port()
    sockets.mkdir()
    shutil.chown(base, "postgres")
    shutil.chown(sockets, "postgres")

    def as_postgres(*args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True)

    as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres")
    as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-w", "-l", str(base / "log"), "-o",
                f"-k {sockets} -p {port} -c listen_addresses=''", "start")
    url = f"postgres://postgres@{quote(str(sockets), safe='')}:{port}/postgres"
    try:
        yield url, f"host={sockets} port={port} user=postgres dbname=postgres"
    finally:
        as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def pg_stack(postgres):
    base = Path(tempfile.mkdtemp(prefix="nbh-test-pg-", dir="/var/tmp"))
    stack = Stack(base, DATABASE_URL=postgres[0]).start()
    yield stack, postgres[1]
    stack.stop()
    shutil.rmtree(base, ignore_errors=True)


def test_open_and_concurrent_opens_on_postgresql(pg_stack):
    stack, dsn = pg_stack
    course = stack.course("pgcourse", make_repo(stack.base / "repo"), "--trust", "legacy")
    assert not (stack.data / "db.sqlite3").exists()

    student = new_student()
    server, _ = open_notebook(stack, course, "intro", student)
    with psycopg.connect(dsn) as db:
        (uid,) = db.execute("select uid from workspaces_student where name = %s", (student,)).fetchone()
    assert execute(server, "import os; print(os.getuid())").strip() == str(uid)

    crowd = new_student()
    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(
            lambda _: follow_progress(stack, open_link(stack, "notebookLazyCopy", course, "intro", crowd)), range(10)))
    assert [r.status_code for r in responses] == [302] * 10
    assert len({r.headers["Location"] for r in responses}) == 1
    assert [n for n in stack.podman_names() if n.endswith(f"-x-{crowd}")] == [f"{course}-x-{crowd}"]
    with psycopg.connect(dsn) as db:
        assert db.execute("select count(*) from stats_openevent where student = %s and cold",
                          (crowd,)).fetchone() == (1,)
