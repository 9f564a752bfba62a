"""Finding a notebook in a course repo, and what the student's copy of it is called.

Teachers may keep notebooks as .ipynb or as jupytext text files (.md, .py); the student always
gets an .ipynb, so that it opens as a notebook in any Jupyter front-end.
"""
import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import jupytext

from nbhosting.names import NOTEBOOK_SUFFIXES, validate_notebook_path


class NotebookNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Notebook:
    source: Path  # absolute path in the course repo
    target: PurePosixPath  # path in the student's workspace, always .ipynb
    as_is: bool = False  # copied without conversion (into a git-mode clone, which holds the course's files)

    @property
    def is_text(self) -> bool:
        return self.source.suffix != ".ipynb" and not self.as_is

    def content(self) -> str | None:
        """The .ipynb content for a text notebook; None when the file is copied as is."""
        if not self.is_text:
            return None
        return jupytext.writes(jupytext.read(self.source), fmt="ipynb")


def as_in_course(notebook: Notebook, repo: Path) -> Notebook:
    """The same notebook under its own name and format, as a clone of the course holds it."""
    return Notebook(notebook.source, PurePosixPath(notebook.source.relative_to(repo)), as_is=True)


def blob_id(path: Path) -> str:
    """The file's git blob id: what `git ls-tree` says of the same content, so that versions
    recorded from a copy and from a clone compare alike."""
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def resolve(repo: Path, path: str) -> Notebook:
    """Maps a URL path (extension given or not) to a notebook of the course.
    Refuses anything that leaves the repo, through '..' or through a symlink."""
    relative = validate_notebook_path(path)
    if relative.parts[0] == ".git":
        raise NotebookNotFound(path)
    candidates = [relative] if relative.suffix in NOTEBOOK_SUFFIXES else []
    # "intro" and "1.2-intro" (a dot that is not an extension) both try each notebook suffix.
    candidates += [relative.with_name(relative.name + suffix) for suffix in NOTEBOOK_SUFFIXES]
    root = repo.resolve()
    for candidate in candidates:
        source = repo / candidate
        if source.is_file() and source.resolve().is_relative_to(root):
            return Notebook(source=source, target=candidate.with_suffix(".ipynb"))
    raise NotebookNotFound(path)
