"""Image rollout: a rebuilt course image never kills a running session; each container moves to
it at its next start, and `nbh containers` shows who still runs the old one."""
import json
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import requests

from tests.lifecycle import db_state, name_of, podman_state, server_of
from tests.stack import Stack, make_repo


def build(context: Path, tag: str, generation: int) -> str:
    (context / "Containerfile").write_text(
        "FROM localhost/nbhosting/default:latest\n"
        f"LABEL nbhosting.test.generation={generation}\n"
    )
    subprocess.run(["podman", "build", "-q", "-t", tag, str(context)], check=True, capture_output=True)
    return image_id(tag)


def image_id(image: str) -> str:
    return subprocess.run(["podman", "image", "inspect", "--format", "{{.Id}}", image],
                          check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def rollout():
    base = Path(tempfile.mkdtemp(prefix="nbh-rollout-", dir="/var/tmp"))
    tag = f"localhost/nbhosting/default:rollout-{secrets.token_hex(4)}"
    (base / "image").mkdir()
    stack = Stack(base, NBH_GUNICORN_WORKERS="2").start()
    built: list[str] = []
    try:
        built.append(build(base / "image", tag, 1))
        stack.course("roll", make_repo(base / "repo"), "--trust", "legacy", "--image", tag)
        yield stack, base / "image", tag, built
    finally:
        stack.stop()
        for image in [tag, *built]:
            subprocess.run(["podman", "rmi", image], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def containers(stack: Stack) -> dict[str, dict]:
    return {row["name"]: row for row in json.loads(stack.nbh("containers", "--json").stdout)}


def test_rebuilt_image_is_picked_up_at_next_start_only(rollout):
    stack, context, tag, built = rollout
    server = server_of(stack, "ann", course="roll")
    name = name_of("ann", "roll")
    first = stack.inspect(name)
    assert first["Image"] == built[0]
    assert containers(stack)[name]["image"] == "current"

    built.append(build(context, tag, 2))
    assert built[1] != built[0]
    listed = containers(stack)[name]
    assert (listed["image"], listed["state"]) == ("outdated", "running")
    assert "outdated" in stack.nbh("containers").stdout

    # Opening again, and a monitor cycle, leave the running session alone.
    assert server_of(stack, "ann", course="roll") == server
    stack.nbh("monitor", "--once")
    same = stack.inspect(name)
    assert same["Id"] == first["Id"] and same["Image"] == built[0]
    assert same["State"]["StartedAt"] == first["State"]["StartedAt"]
    assert requests.get(f"{server}api/status", timeout=30).status_code == 200

    # Its next start is on the new image, with the same files and URL.
    stack.nbh("container-stop", "roll", "ann")
    assert podman_state(stack, name) == "exited"
    assert server_of(stack, "ann", course="roll") == server
    moved = stack.inspect(name)
    assert moved["Image"] == built[1]
    assert db_state(stack, "ann", course="roll") == "running"
    assert stack.query("SELECT image FROM containers_container WHERE name = ?", name)[0][0] == built[1]
    assert containers(stack)[name]["image"] == "current"
    assert "intro.ipynb" in {i["name"] for i in requests.get(f"{server}api/contents/", timeout=30).json()["content"]}
