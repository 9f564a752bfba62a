"""Unit tests: finding a course notebook from its URL path, and what the student's copy is called."""
import json
from pathlib import Path

import pytest

from nbhosting.names import InvalidName
from nbhosting.workspaces.notebooks import NotebookNotFound, resolve
from tests.stack import DEMO


@pytest.mark.parametrize("path, source, target", [
    ("intro", "intro.ipynb", "intro.ipynb"),
    ("intro.ipynb", "intro.ipynb", "intro.ipynb"),
    ("w1/1.2-intro", "w1/1.2-intro.ipynb", "w1/1.2-intro.ipynb"),
    ("text/myst-notebook", "text/myst-notebook.md", "text/myst-notebook.ipynb"),
    ("text/percent-script.py", "text/percent-script.py", "text/percent-script.ipynb"),
])
def test_resolve(path, source, target):
    notebook = resolve(DEMO, path)
    assert notebook.source == DEMO / source
    assert str(notebook.target) == target


def test_text_notebook_becomes_ipynb():
    notebook = resolve(DEMO, "text/myst-notebook")
    content = json.loads(notebook.content())
    assert content["nbformat"] == 4
    assert [c["cell_type"] for c in content["cells"]] == ["markdown", "code"]
    assert resolve(DEMO, "intro").content() is None  # an .ipynb is copied as it is


def test_missing_and_escaping_paths(tmp_path: Path):
    (tmp_path / "inside.ipynb").write_text("{}")
    (tmp_path / "outside.ipynb").symlink_to("/etc/hostname")
    (tmp_path / "folder.ipynb").mkdir()
    for path in ("nothing", "outside", "folder", "inside.txt"):
        with pytest.raises(NotebookNotFound):
            resolve(tmp_path, path)
    with pytest.raises(InvalidName):
        resolve(tmp_path, "../inside")
    assert resolve(tmp_path, "inside").source == tmp_path / "inside.ipynb"
