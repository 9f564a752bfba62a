"""A test-scoped nbhosting stack, started the way install.sh starts the real one.

Its own data root, database, gunicorn, nginx master (on a free port) and podman instance label;
it shares the host's podman service and images with the installed site, and touches nothing of it.
"""
import json
import os
import secrets
import shutil
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
NBH = str(ROOT / "scripts" / "nbh")
DEMO = ROOT / "examples" / "demo-course"
QUOTA_SH = ROOT / "scripts" / "lib" / "quota.sh"
# Big enough for every test's writes; sparse, so it costs only what is written.
QUOTA_IMAGE_SIZE = "2G"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=Teacher", "-c", "user.email=t@example.org", *args],
        cwd=cwd, check=True, capture_output=True, text=True,
    ).stdout


def quota_fs(data: Path, action: str, **env: str) -> str:
    """Runs install.sh's own ensure_disk_quotas (or release_disk_quotas) on a data root."""
    proc = subprocess.run(
        ["bash", "-c", f'set -euo pipefail; . "{QUOTA_SH}"; {action}'],
        env={**os.environ, "NBH_DATA_ROOT": str(data), "NBH_QUOTA_IMAGE_SIZE": QUOTA_IMAGE_SIZE, **env},
        capture_output=True, text=True, timeout=120)
    if proc.returncode != 0 or "warning" in proc.stderr:
        raise RuntimeError(f"{action} failed on {data}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def make_repo(path: Path, source: Path = DEMO) -> Path:
    """A real git repository holding a copy of `source` (the demo course by default)."""
    shutil.copytree(source, path)
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-qm", "course material")
    return path


def mounts_under(folder: Path) -> list[str]:
    prefix = f"{folder}/"
    with open("/proc/self/mounts") as mounts:
        return [line.split()[1] for line in mounts if line.split()[1].startswith(prefix)]


class Stack:
    def __init__(self, base: Path, **settings: str) -> None:
        self.base = base
        self.data = base / "data"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.instance = "test-" + secrets.token_hex(4)
        self.env_file = base / "nbhosting.env"
        uid_base = 3_000_000 + secrets.randbelow(900) * 1000
        values = {
            "NBH_DATA_ROOT": str(self.data),
            "NBH_SECRET_KEY": secrets.token_urlsafe(40),
            "NBH_VENV": os.environ.get("NBH_VENV", "/opt/nbhosting/venv"),
            "NBH_HTTP_PORT": str(self.port),
            "NBH_INSTANCE": self.instance,
            "NBH_UID_MIN": str(uid_base),
            "NBH_UID_MAX": str(uid_base + 999),
            "NBH_DEV_LOOPBACK": "0",
            "NBH_LEGACY_REFERERS": "lms.example.org 127.0.0.2",
            "NBH_FRAME_ANCESTORS": "'self' http://127.0.0.2:*",
            "NBH_GUNICORN_WORKERS": "3",
            **settings,
        }
        self.settings = values
        self.procs: list[subprocess.Popen] = []

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> "Stack":
        self.base.mkdir(parents=True, exist_ok=True)
        self.base.chmod(0o755)
        self.data.mkdir()
        self.data.chmod(0o711)  # as install.sh leaves it
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        # Workspaces on a loop-mounted btrfs with quotas, as install.sh sets up a test machine.
        quota_fs(self.data, "ensure_disk_quotas", **self._quota_settings())
        self.env_file.write_text("".join(f'{k}="{v}"\n' for k, v in self.settings.items()))
        self.nbh("migrate", "-v0")
        self.nbh("collectstatic", "--noinput", "-v0")
        run = self.data / "run"
        self.nbh("nginx-config", "--out", str(self.base / "nginx-site.conf"),
                 "--standalone", str(self.base / "nginx.conf"))
        log = open(self.base / "gunicorn.log", "w")
        self.procs.append(subprocess.Popen(
            [str(ROOT / "scripts" / "nbh-serve"), "gunicorn"], env=self.env(),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        self._wait_for(run / "gunicorn.sock")
        subprocess.run(["nginx", "-c", str(self.base / "nginx.conf")], check=True)
        self._wait_http()

    def stop(self) -> None:
        subprocess.run(["nginx", "-c", str(self.base / "nginx.conf"), "-s", "quit"], capture_output=True)
        for proc in self.procs:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        for name in self.podman_names():
            subprocess.run(["podman", "rm", "-f", "-t", "0", name], capture_output=True)
        # Removed behind the platform's back: the servers' socket-folder tmpfs are unmounted here.
        for target in mounts_under(self.data / "run" / "servers"):
            subprocess.run(["umount", target], capture_output=True)
        # After the containers, which held the workspaces: the loop device goes back to the host.
        quota_fs(self.data, "release_disk_quotas", **self._quota_settings())

    def _quota_settings(self) -> dict[str, str]:
        return {k: v for k, v in self.settings.items() if k.startswith("NBH_QUOTA")}

    def _wait_for(self, path: Path, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not path.exists():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{path} did not appear; see {self.base}/gunicorn.log")
            time.sleep(0.1)

    def _wait_http(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/c/none", timeout=10).status_code == 404:
                    return
            except (requests.ConnectionError, requests.Timeout):  # not up yet, or a busy machine
                pass
            time.sleep(0.1)
        raise RuntimeError("nginx did not answer")

    # -- helpers -----------------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        return {**os.environ, "NBH_ENV_FILE": str(self.env_file)}

    def nbh(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run([NBH, *args], env=self.env(), capture_output=True, text=True, timeout=600)
        if check and proc.returncode != 0:
            raise AssertionError(f"nbh {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc

    def course(self, name: str, repo: Path, *options: str) -> str:
        self.nbh("course-create", name, str(repo), *options)
        return name

    def query(self, sql: str, *params) -> list[tuple]:
        with sqlite3.connect(self.data / "db.sqlite3", timeout=30) as db:
            return db.execute(sql, params).fetchall()

    def log_offset(self) -> int:
        """Where the server's log ends now: what a test saw can be told with what the server logged since."""
        return (self.base / "gunicorn.log").stat().st_size

    def log_since(self, offset: int) -> str:
        with open(self.base / "gunicorn.log", errors="replace") as log:
            log.seek(offset)
            return log.read()

    def warm_servers(self) -> int:
        """Unclaimed pool servers whose container runs, in every course (the benchmarks' pools)."""
        return self.query("select count(*) from pool_slot p join containers_container c on p.container_id = c.id "
                          "where p.state = 'free' and c.state = 'running'")[0][0]

    def podman_names(self) -> list[str]:
        out = subprocess.run(
            ["podman", "ps", "-a", "--filter", f"label=nbhosting.instance={self.instance}", "--format", "json"],
            capture_output=True, text=True, check=True).stdout
        return [c["Names"][0] for c in json.loads(out or "[]")]

    def inspect(self, name: str) -> dict:
        out = subprocess.run(["podman", "inspect", name], capture_output=True, text=True, check=True).stdout
        return json.loads(out)[0]
