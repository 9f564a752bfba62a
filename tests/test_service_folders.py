"""Every service runs in a working folder of its own, whatever folder it was started from. The
podman service matters most: when a container runs out of memory, its conmon writes an `oom` file
into the service's working folder, which used to be wherever install.sh was run."""
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.stack import ROOT

NBH_SERVE = str(ROOT / "scripts" / "nbh-serve")
IMAGE = os.environ.get("NBH_DEFAULT_IMAGE", "localhost/nbhosting/default:latest")


def cwd(pid: int) -> str:
    return os.readlink(f"/proc/{pid}/cwd")


def wait_for(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_the_podman_service_keeps_oom_files_in_its_own_folder(tmp_path: Path):
    started_from, work, sock = tmp_path / "where-install-ran", tmp_path / "work", tmp_path / "podman.sock"
    started_from.mkdir()
    env = {**os.environ, "NBH_ENV_FILE": "/nonexistent", "NBH_WORK_DIR": str(work), "NBH_PODMAN_URL": f"unix://{sock}"}
    service = subprocess.Popen([NBH_SERVE, "podman"], cwd=started_from, env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(sock.exists)
        killed = subprocess.run(
            ["podman", "--remote", "--url", f"unix://{sock}", "run", "--rm", "--network", "none",
             "--memory", "30m", "--memory-swap", "30m", IMAGE, "python3", "-c", "bytearray(10**9)"],
            capture_output=True, text=True, timeout=300)
        assert killed.returncode == 137, killed.stderr  # the kernel's OOM killer
        assert cwd(service.pid) == str(work / "podman")
        assert (work / "podman" / "oom").exists()
        assert list(started_from.iterdir()) == []
    finally:
        os.killpg(service.pid, signal.SIGTERM)
        service.wait(timeout=60)


def test_gunicorn_and_the_monitor_run_in_their_own_folders(stack, tmp_path: Path):
    assert cwd(stack.procs[0].pid) == "/run/nbhosting/gunicorn"  # the stack started it from the tests' folder
    monitor = subprocess.Popen([NBH_SERVE, "monitor"], cwd=tmp_path, env=stack.env(), start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: cwd(monitor.pid) != str(tmp_path) or monitor.poll() is not None, 10)
        assert cwd(monitor.pid) == "/run/nbhosting/monitor"
    finally:
        os.killpg(monitor.pid, signal.SIGTERM)
        monitor.wait(timeout=120)


def daemon(tmp_path: Path, command: str) -> None:
    """install.sh's start_daemon or stop_daemon, as where systemd is not PID 1."""
    script = f'. {ROOT}/scripts/lib/common.sh; NBH_PID_DIR={tmp_path}/run NBH_LOG_DIR={tmp_path}/log; {command}'
    subprocess.run(["bash", "-c", script], cwd=tmp_path, check=True)


def service_of(tmp_path: Path, name: str) -> int | None:
    """The pid of the service that start_daemon keeps running (respawn's child), once it runs."""
    keeper = int((tmp_path / "run" / f"{name}.pid").read_text())
    children = Path(f"/proc/{keeper}/task/{keeper}/children").read_text().split()
    return int(children[0]) if children else None


def is_sleep(pid: int | None) -> bool:
    try:
        return pid is not None and os.readlink(f"/proc/{pid}/exe").endswith("/sleep")  # exec'd: cd done
    except FileNotFoundError:
        return False


def running(pid: int) -> bool:
    """Alive, not a zombie that nobody reaped yet (PID 1 may not reap here)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_background_daemon_runs_in_its_own_folder(tmp_path: Path):
    daemon(tmp_path, "start_daemon probe sleep 600")
    try:
        wait_for(lambda: is_sleep(service_of(tmp_path, "probe")), 10)
        assert cwd(service_of(tmp_path, "probe")) == str(tmp_path / "run" / "probe")
    finally:
        daemon(tmp_path, "stop_daemon probe")


def test_a_background_daemon_that_dies_is_started_again_and_a_stop_is_final(tmp_path: Path):
    """Without systemd, nothing else would restart a crashed podman service or gunicorn."""
    daemon(tmp_path, "start_daemon probe sleep 600")
    keeper = int((tmp_path / "run" / "probe.pid").read_text())
    try:
        wait_for(lambda: is_sleep(service_of(tmp_path, "probe")), 10)
        first = service_of(tmp_path, "probe")
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: is_sleep(service_of(tmp_path, "probe")) and service_of(tmp_path, "probe") != first, 30)
        assert "respawn: probe exited (status 137)" in (tmp_path / "log" / "probe.log").read_text()
        second = service_of(tmp_path, "probe")
    finally:
        daemon(tmp_path, "stop_daemon probe")
    # Stopped for good: the service and its keeper are gone, and nothing starts it again.
    time.sleep(3)  # longer than respawn's first pause: a restart would have happened by now
    assert not running(second) and not running(keeper)
    assert not (tmp_path / "run" / "probe.pid").exists()
