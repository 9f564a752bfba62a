import shutil
import tempfile
from pathlib import Path

import pytest

from tests.browser import lms_site
from tests.stack import Stack, make_repo

# Fixtures shared by several files: the dashboard's database-only tests (users, courses), and the
# in-process backend's (fake, no_workspaces).
pytest_plugins = ["tests.dashboard_fixtures", "tests.fake_backend"]


@pytest.fixture(scope="session")
def stack():
    """One real stack for the whole session: gunicorn, nginx, podman, the default image."""
    base = Path(tempfile.mkdtemp(prefix="nbh-test-", dir="/var/tmp"))
    running = Stack(base).start()
    yield running
    running.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def demo_repo(stack):
    return make_repo(stack.base / "demo-repo")


@pytest.fixture(scope="session")
def legacy_course(stack, demo_repo):
    """The demo course, accepting unsigned links from the allow-listed Referer hosts."""
    return stack.course("legacy", demo_repo, "--trust", "legacy")


@pytest.fixture
def lms_page():
    """An LMS page on another site (tests/browser.py's lms_site): (page, its URL)."""
    with lms_site() as served:
        yield served
