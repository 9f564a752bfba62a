"""The acceptance test of the backend's interface: the setting NBH_BACKEND alone selects the
in-process backend, and an LMS link opens a notebook through the gateway, end to end (Django's
test client, the real workspace copy as the student's uid), with no edit anywhere else. Then the
student's "stop my server", the stopped page's restart, and the monitor, all on that backend."""
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from django.test import Client

from nbhosting.containers.backend import ServerState
from nbhosting.containers.fake import FakeBackend
from nbhosting.containers.models import Container
from nbhosting.monitor import cycle
from nbhosting.starts import queue, service, worker
from tests.fake_backend import make_course
from tests.helpers import LMS, SERVER_URL

# The workspace copy runs as the student's uid, as in production: that needs root (not podman).
pytestmark = [pytest.mark.django_db, pytest.mark.fake,
              pytest.mark.skipif(os.geteuid() != 0, reason="the workspace copy runs as the student's uid")]


@pytest.fixture
def inline_starts(monkeypatch):
    """The start queue's dispatcher runs each start in a thread of its own; the test database is
    SQLite in memory, which another thread cannot share: here the queued start is claimed and run
    at once, by the same worker.run, in the request's thread."""
    def begin(record, page, notebook="", action=""):
        start = queue.enqueue(record, page, notebook, action)
        claimed = queue.claim("test-inline")
        assert claimed is not None and claimed.pk == start.pk
        worker.run(claimed)
        return start

    monkeypatch.setattr(service, "begin", begin)


@pytest.fixture
def site(fake, settings, inline_starts):
    """A data root that students' uids can traverse (pytest's tmp folders are root's 0700)."""
    base = Path(tempfile.mkdtemp(prefix="nbh-fake-", dir="/var/tmp"))
    base.chmod(0o711)
    settings.DATA_ROOT = base / "data"
    settings.DATA_ROOT.mkdir(mode=0o711)
    settings.NBH_QUOTA_DRIVER = "none"
    settings.NBH_LEGACY_REFERERS = ["lms.example.org"]
    yield fake
    shutil.rmtree(base, ignore_errors=True)


def test_an_lms_link_opens_a_notebook_on_the_backend_the_setting_chose(site: FakeBackend):
    course = make_course("physics")
    course.trust = course.Trust.LEGACY
    course.save()
    client = Client()
    response = client.get("/notebookLazyCopy/physics/intro/ann", headers=LMS)
    assert response.status_code == 302, response.content.decode()[:500]
    found = SERVER_URL.match(response["Location"])
    assert found and found["path"] == "intro.ipynb"
    record = Container.objects.get(secret=found["secret"])
    assert record.state == Container.State.RUNNING and record.student.name == "ann"
    assert site.containers[record.name].state == ServerState.RUNNING and site.reachable(record)
    assert (record.course.workspaces_dir / "ann" / "intro.ipynb").exists()

    # A second open is warm: the engine is not asked to start anything.
    site.calls.clear()
    assert client.get("/notebookLazyCopy/physics/intro/ann", headers=LMS).status_code == 302
    assert site.called("start") == [] and site.called("create") == []

    # "Stop my server", then the stopped page's link starts it again in the same container.
    assert client.post(f"/stop/{record.secret}/").status_code == 200
    assert site.containers[record.name].state == ServerState.STOPPED and not site.reachable(record)
    again = client.get(f"/restart/{record.secret}/notebooks/intro.ipynb")
    assert again.status_code == 302 and again["Location"] == f"/c/{record.secret}/notebooks/intro.ipynb"
    assert site.containers[record.name].starts == 2 and site.called("create") == []

    # The monitor sees it running, on the same backend.
    assert cycle.run(site).running == 1
