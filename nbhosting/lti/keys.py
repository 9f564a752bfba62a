"""The tool's RSA key: generated once, kept under the data root (mode 0600), published as a JWKS.
It signs our service token requests (AGS, NRPS) and deep linking responses."""
import os
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from pylti1p3.registration import Registration

from nbhosting.folders import root_folder


def key_path() -> Path:
    return settings.DATA_ROOT / "lti" / "tool-key.pem"


def _generate(path: Path) -> None:
    """Written to a private temporary name, then linked into place: concurrent workers agree on
    one key, and nobody ever reads a half-written file."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass  # another worker won
    finally:
        tmp.unlink()


@lru_cache(maxsize=4)
def _load(path: Path) -> tuple[str, str]:
    root_folder(path.parent, 0o700)
    if not path.exists():
        _generate(path)
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as f:
        private_pem = f.read()
    key = serialization.load_pem_private_key(private_pem, password=None)
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    return private_pem.decode(), public_pem.decode()


def tool_keys() -> tuple[str, str]:
    """(private PEM, public PEM)."""
    return _load(key_path())


def jwks() -> dict:
    return {"keys": [Registration.get_jwk(tool_keys()[1])]}
