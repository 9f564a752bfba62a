"""The README's first command on a pristine Debian 12 system, as a newcomer runs it: nothing of this
machine's installation helps (scripts/test-fresh-install says how). Its log, with each phase's
duration, lands in test-artifacts/fresh-install.log."""
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The slowest phase builds the notebook images in the pristine system: minutes on a loaded host.
TIMEOUT = 1500


def test_install_on_a_pristine_debian_12(capsys):
    proc = subprocess.run([str(ROOT / "scripts" / "test-fresh-install")], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT)
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "fresh-install.log").write_text(proc.stdout)
    durations = proc.stdout[proc.stdout.find("phase durations:"):] if "phase durations:" in proc.stdout else ""
    with capsys.disabled():
        print("\n" + durations.strip())
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "test-fresh-install: passed" in proc.stdout
