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


def test_a_background_daemon_runs_in_its_own_folder(tmp_path: Path):
    """install.sh's start_daemon, where systemd is not PID 1."""
    script = (f'. {ROOT}/scripts/lib/common.sh; NBH_PID_DIR={tmp_path}/run NBH_LOG_DIR={tmp_path}/log; '
              'start_daemon probe sleep 600')
    subprocess.run(["bash", "-c", script], cwd=tmp_path, check=True)
    pid = int((tmp_path / "run" / "probe.pid").read_text())
    try:
        wait_for(lambda: os.readlink(f"/proc/{pid}/exe").endswith("/sleep"), 10)  # exec'd: cd done
        assert cwd(pid) == str(tmp_path / "run" / "probe")
    finally:
        subprocess.run(["bash", "-c", f'. {ROOT}/scripts/lib/common.sh; NBH_PID_DIR={tmp_path}/run; '
                        'stop_daemon probe'], check=True)
