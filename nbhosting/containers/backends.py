"""The one way to reach the container backend: `get_backend()`, chosen by the setting NBH_BACKEND.

NBH_BACKEND is the dotted path of a class (or of a function) that takes no argument and returns
a Backend (containers/backend.py). The default is the podman backend; the tests select the
in-process one, `nbhosting.containers.fake.FakeBackend`, by this setting alone.
"""
import functools

from django.conf import settings
from django.utils.module_loading import import_string

from nbhosting.containers.backend import Backend

DEFAULT = "nbhosting.containers.podman.PodmanBackend"


@functools.cache
def _backend(path: str) -> Backend:
    factory = import_string(path)
    backend: Backend = factory()
    return backend


def get_backend() -> Backend:
    """One instance per setting value, so that a test's override_settings picks its own."""
    return _backend(getattr(settings, "NBH_BACKEND", None) or DEFAULT)


def reset() -> None:
    """Forgets the instances made so far (a test that wants a fresh fake)."""
    _backend.cache_clear()
