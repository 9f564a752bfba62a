"""Container lifecycle with real containers: idle culling that never loses work, resume,
reconciliation with podman, and the monitor's resilience. Timeouts are seconds here."""
import json
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import requests
import websocket

from tests.lifecycle import db_state, name_of, podman_state, server_of, wait_until
from tests.stack import Stack, make_repo

KERNELS_AFTER = 4
SERVER_AFTER = 10
REMOVE_AFTER = 4


@pytest.fixture(scope="module")
def life():
    """A stack whose tiers are seconds long, with a legacy course."""
    base = Path(tempfile.mkdtemp(prefix="nbh-life-", dir="/var/tmp"))
    stack = Stack(
        base,
        NBH_CULL_KERNELS_AFTER=str(KERNELS_AFTER), NBH_CULL_KERNELS_INTERVAL="1",
        NBH_CULL_SERVER_AFTER=str(SERVER_AFTER), NBH_REMOVE_AFTER=str(REMOVE_AFTER),
        NBH_STOP_GRACE="5", NBH_MONITOR_PERIOD="2", NBH_GUNICORN_WORKERS="2",
    ).start()
    stack.course("life", make_repo(base / "repo"), "--trust", "legacy")
    yield stack
    stack.stop()
    shutil.rmtree(base, ignore_errors=True)


# -- helpers ---------------------------------------------------------------------------------------
def monitor_once(stack: Stack) -> subprocess.CompletedProcess:
    return stack.nbh("monitor", "--once")


def culls(stack: Stack, student: str, course: str = "life") -> list[tuple[str, str]]:
    return stack.query("SELECT action, reason FROM monitor_cull WHERE container = ? ORDER BY id",
                       name_of(student, course))


def workspace(stack: Stack, student: str, course: str = "life") -> Path:
    return stack.data / "workspaces" / course / student


def ws_connect(server: str, path: str) -> websocket.WebSocket:
    origin = "/".join(server.split("/")[:3])
    return websocket.create_connection(server.replace("http://", "ws://") + path, timeout=30, origin=origin)


def start_busy_kernel(server: str, seconds: int) -> str:
    """A kernel left running `time.sleep`, with nobody connected to it any more."""
    kernel_id = requests.post(f"{server}api/kernels", json={"name": "python3"}, timeout=60).json()["id"]
    ws = ws_connect(server, f"api/kernels/{kernel_id}/channels")
    try:
        msg_id = uuid.uuid4().hex
        ws.send(json.dumps({
            "header": {"msg_id": msg_id, "username": "t", "session": uuid.uuid4().hex,
                       "msg_type": "execute_request", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": f"import time; time.sleep({seconds})", "silent": False,
                        "store_history": False, "user_expressions": {}, "allow_stdin": False},
        }))
        while True:
            msg = json.loads(ws.recv())
            if (msg.get("parent_header", {}).get("msg_id") == msg_id and msg["msg_type"] == "status"
                    and msg["content"]["execution_state"] == "busy"):
                return kernel_id
    finally:
        ws.close()


# -- one idle period shared by the culling tests ---------------------------------------------------
@pytest.fixture(scope="module")
def idle_round(life):
    """Four servers go through one idle period longer than T, then one monitor cycle:
    - idle: opened, a file written, then left alone;
    - busy: a kernel runs time.sleep, nobody connected;
    - reader: no kernel, but a tab's websocket stays open;
    - frozen: paused in podman, so that stopping it fails with a podman error."""
    servers = {student: server_of(life, student) for student in ("idle", "busy", "reader", "frozen")}
    requests.put(f"{servers['idle']}api/contents/mine.txt", timeout=30,
                 json={"type": "file", "format": "text", "content": "work in progress"}).raise_for_status()
    busy_kernel = start_busy_kernel(servers["busy"], 600)
    reader = ws_connect(servers["reader"], "api/events/subscribe")
    subprocess.run(["podman", "pause", name_of("frozen")], check=True, capture_output=True)
    time.sleep(SERVER_AFTER + 2)
    result = monitor_once(life)
    yield {"servers": servers, "busy_kernel": busy_kernel, "result": result}
    reader.close()
    subprocess.run(["podman", "unpause", name_of("frozen")], capture_output=True)


def test_idle_server_is_stopped(life, idle_round):
    assert podman_state(life, name_of("idle")) == "exited"
    assert db_state(life, "idle") == "stopped"
    action, reason = culls(life, "idle")[-1]
    assert action == "stopped" and reason.startswith("idle for")
    assert (workspace(life, "idle") / "mine.txt").read_text() == "work in progress"
    # The tab's URL now gets the platform's page, not a 502.
    page = requests.get(idle_round["servers"]["idle"] + "notebooks/intro.ipynb", timeout=30)
    assert page.status_code == 503 and "without activity" in page.text


def test_busy_kernel_is_not_culled(life, idle_round):
    server = idle_round["servers"]["busy"]
    assert podman_state(life, name_of("busy")) == "running"
    assert db_state(life, "busy") == "running"
    kernels = requests.get(f"{server}api/kernels", timeout=30).json()
    assert [(k["id"], k["execution_state"]) for k in kernels] == [(idle_round["busy_kernel"], "busy")]
    assert culls(life, "busy") == []
    requests.delete(f"{server}api/kernels/{idle_round['busy_kernel']}", timeout=30)


def test_connected_client_without_kernel_is_not_culled(life, idle_round):
    server = idle_round["servers"]["reader"]
    assert requests.get(f"{server}api/kernels", timeout=30).json() == []
    assert podman_state(life, name_of("reader")) == "running"
    assert culls(life, "reader") == []


def test_monitor_survives_podman_error_in_one_container(life, idle_round):
    result = idle_round["result"]
    assert result.returncode == 0
    assert "1 errors" in result.stdout, result.stdout
    assert name_of("frozen") in result.stderr and "failed" in result.stderr
    assert podman_state(life, name_of("frozen")) == "paused"
    # The others in the same cycle were handled all the same.
    assert db_state(life, "idle") == "stopped"


def test_cycle_records_counts(life, idle_round):
    """Per course and in total, as usage samples for the staff's statistics."""
    latest = "(SELECT max(time) FROM stats_usagesample)"
    site, = life.query("SELECT containers, kernels, busy_kernels, workspaces, load1, mem_free, disk_free"
                       f" FROM stats_usagesample WHERE course = '' AND time = {latest}")
    containers, kernels, busy, workspaces, load, memory, disk = site
    assert containers == 3  # busy, reader, frozen; idle was stopped in this cycle
    assert (kernels, busy) == (1, 1)
    assert workspaces == len(list((life.data / "workspaces" / "life").iterdir()))
    assert load >= 0 and memory > 0 and disk > 0
    per_course = life.query("SELECT course, containers, kernels, busy_kernels, workspaces FROM stats_usagesample"
                            f" WHERE course != '' AND time = {latest}")
    assert per_course == [("life", 3, 1, 1, workspaces)]
    assert life.query("SELECT running, stopped, culled, errors FROM monitor_cycle ORDER BY id DESC LIMIT 1") == [
        (3, 1, 1, 1)]


def test_stopped_server_is_removed_then_resumes_with_files(life, idle_round):
    time.sleep(REMOVE_AFTER + 1)
    monitor_once(life)
    assert podman_state(life, name_of("idle")) is None
    assert db_state(life, "idle") == "absent"
    assert culls(life, "idle")[-1][0] == "removed"
    assert (workspace(life, "idle") / "mine.txt").exists()
    server = server_of(life, "idle")
    assert idle_round["servers"]["idle"] == server  # same secret: an open tab's URL still works
    names = {item["name"] for item in requests.get(f"{server}api/contents/", timeout=30).json()["content"]}
    assert {"mine.txt", "intro.ipynb"} <= names
    assert db_state(life, "idle") == "running"


# -- tier 1 ----------------------------------------------------------------------------------------
def test_idle_kernels_are_culled_while_the_server_stays(life):
    server = server_of(life, "kernels")
    # The open started the notebook's kernel for its page: it may be there, or already culled.
    page_kernels = {k["id"] for k in requests.get(f"{server}api/kernels", timeout=30).json()}
    kernel = requests.post(f"{server}api/kernels", json={"name": "python3"}, timeout=60).json()["id"]
    started = time.monotonic()
    running = {k["id"] for k in requests.get(f"{server}api/kernels", timeout=30).json()}
    assert kernel in running and running <= page_kernels | {kernel}
    assert wait_until(lambda: requests.get(f"{server}api/kernels", timeout=30).json() == [], 30)
    assert time.monotonic() - started >= KERNELS_AFTER - 1
    assert requests.get(f"{server}api/status", timeout=30).status_code == 200
    monitor_once(life)
    assert podman_state(life, name_of("kernels")) == "running"


# -- reconciliation --------------------------------------------------------------------------------
def test_container_removed_by_hand_is_noticed_and_reopens(life):
    server = server_of(life, "byhand")
    subprocess.run(["podman", "rm", "-f", "-t", "0", name_of("byhand")], check=True, capture_output=True)
    monitor_once(life)
    assert db_state(life, "byhand") == "absent"
    assert culls(life, "byhand")[-1] == ("marked", "container disappeared")
    assert not (life.data / "run" / "servers" / name_of("byhand")).exists()
    assert server_of(life, "byhand") == server
    assert requests.get(f"{server}api/status", timeout=30).status_code == 200


def test_container_killed_by_hand_is_marked_and_its_socket_cleaned(life):
    server = server_of(life, "killed")
    socket = life.data / "run" / "servers" / name_of("killed") / "sock" / "jupyter.sock"
    assert socket.exists()
    subprocess.run(["podman", "kill", name_of("killed")], check=True, capture_output=True)
    assert wait_until(lambda: podman_state(life, name_of("killed")) == "exited", 30)
    assert socket.exists()  # SIGKILL: Jupyter had no chance to remove it
    monitor_once(life)
    assert db_state(life, "killed") == "stopped"
    assert culls(life, "killed")[-1] == ("marked", "container exited on its own")
    assert not socket.exists()
    assert requests.get(f"{server}api/status", timeout=30).status_code == 503
    assert server_of(life, "killed") == server
    assert requests.get(f"{server}api/status", timeout=30).status_code == 200


def test_unknown_labelled_container_and_leftovers_are_cleaned(life):
    stray = f"life-x-stray{uuid.uuid4().hex[:6]}"
    subprocess.run(["podman", "run", "-d", "--name", stray, "--label", f"nbhosting.instance={life.instance}",
                    "--network", "none", "localhost/nbhosting/base:bookworm", "sleep", "600"],
                   check=True, capture_output=True)
    other = subprocess.run(["podman", "run", "-d", "--label", "nbhosting.instance=someone-else",
                            "--network", "none", "localhost/nbhosting/base:bookworm", "sleep", "600"],
                           check=True, capture_output=True, text=True).stdout.strip()
    try:
        run = life.data / "run"
        (run / "servers" / "life-x-ghost").mkdir(parents=True)
        (run / "containers" / "life-x-old").mkdir(parents=True)  # an older version's socket folder
        (run / "links" / f"{'x' * 43}.sock").symlink_to(run / "servers" / "life-x-ghost" / "jupyter.sock")
        first = monitor_once(life)
        assert f"unknown container {stray}" in first.stderr
        assert podman_state(life, stray) == "running"  # reported, kept until L has passed
        assert not (run / "servers" / "life-x-ghost").exists() and not (run / "containers" / "life-x-old").exists()
        assert not (run / "links" / f"{'x' * 43}.sock").is_symlink()
        time.sleep(REMOVE_AFTER + 1)
        monitor_once(life)
        assert podman_state(life, stray) is None
        assert podman_state(life, other) == "running"  # another instance's: never touched
    finally:
        for name in (stray, other):  # one by one: podman stops at the first one already gone
            subprocess.run(["podman", "rm", "-f", "-t", "0", name], capture_output=True)


# -- the service -----------------------------------------------------------------------------------
def test_monitor_service_runs_cycles_until_sigterm(life):
    """What systemd (or install.sh's start_daemon) runs: a cycle every period, a clean exit on SIGTERM."""
    cycles = lambda: life.query("SELECT count(*) FROM monitor_cycle")[0][0]  # noqa: E731
    before = cycles()
    log = life.base / "monitor.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(Path(__file__).resolve().parent.parent / "scripts" / "nbh-serve"), "monitor"],
                                env=life.env(), stdout=out, stderr=subprocess.STDOUT)
    try:
        assert wait_until(lambda: cycles() >= before + 2, 60)
    finally:
        proc.terminate()
        assert proc.wait(timeout=60) == 0
    text = log.read_text()
    assert "monitor started: period 2s" in text and "monitor stopped" in text
