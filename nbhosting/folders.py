"""Folders the platform itself owns (root's), created on demand with an exact mode."""
from pathlib import Path


def root_folder(path: Path, mode: int) -> Path:
    """Creates the folder and its parents if missing, and sets its mode even when it existed, so
    that a folder made by hand or by an older version gets the mode the platform relies on."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(mode)
    return path
