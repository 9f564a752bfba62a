"""The service logs are rotated without stopping the services that write them."""
import gzip
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "scripts" / "lib" / "logrotate.conf.in"


def rotate(conf: Path, state: Path) -> None:
    subprocess.run(["logrotate", "--force", "--state", str(state), str(conf)], check=True,
                   capture_output=True, text=True)


def test_a_log_held_open_is_rotated_and_written_on(tmp_path):
    logs = tmp_path / "log"
    logs.mkdir()
    conf = tmp_path / "nbhosting"
    conf.write_text(TEMPLATE.read_text().replace("@LOG_DIR@", str(logs)))
    state = tmp_path / "state"
    with open(logs / "monitor.log", "a") as service:  # as start_daemon's `>>` leaves it
        service.write("cycle 1\n")
        service.flush()
        rotate(conf, state)
        service.write("cycle 2\n")
        service.flush()
        assert (logs / "monitor.log.1").read_text() == "cycle 1\n"
        assert (logs / "monitor.log").read_text() == "cycle 2\n"  # same file, truncated, appended to
        rotate(conf, state)
    assert gzip.decompress((logs / "monitor.log.2.gz").read_bytes()) == b"cycle 1\n"
    assert (logs / "monitor.log.1").read_text() == "cycle 2\n"


def test_installed_configuration_is_valid():
    """install.sh put it in place; logrotate's dry run accepts it."""
    installed = Path("/etc/logrotate.d/nbhosting")
    assert installed.read_text().startswith(TEMPLATE.read_text().split("@LOG_DIR@")[0])
    proc = subprocess.run(["logrotate", "--debug", str(installed)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "rotating pattern: /var/log/nbhosting/*.log  weekly (8 rotations)" in proc.stderr
