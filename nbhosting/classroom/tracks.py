"""A course's outline for its students: tracks, their sections, and the notebooks in each, with
titles. From `nbhosting.yaml` at the top of the course's repository when there is one:

    tracks:
      - title: Python basics
        description: the first weeks            # optional
        sections:
          - title: Week 1
            notebooks:
              - intro                           # a path as in links, the extension optional
              - path: w1/1.2-intro
                title: Getting started          # optional: else the notebook's own title

otherwise from the folders: one track, a section per folder. A notebook's own title is its
`notebookname` metadata, else its first heading, else its file name. The outline is built once
per course commit (a course's clone changes only by a pull).
"""
import json
import logging
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import yaml

from nbhosting.courses.models import Course
from nbhosting.names import InvalidName
from nbhosting.workspaces.notebooks import NotebookNotFound, blob_id, resolve

log = logging.getLogger(__name__)
OUTLINE_FILE = "nbhosting.yaml"
MAX_NOTEBOOK_BYTES = 5_000_000
HEADING = re.compile(r"^#{1,3}\s+(.+?)\s*#*\s*$", re.MULTILINE)
# A .md or .py file is a notebook when it says so (jupytext's header, a kernel, percent cells);
# a README is not.
TEXT_NOTEBOOK = re.compile(r"^(---\s*$[\s\S]*?^(jupytext|kernelspec):|# %%|# ---\s*$\s*# jupyter:)", re.MULTILINE)


@dataclass(frozen=True)
class Entry:
    path: str  # in the course's repository
    title: str
    digest: str  # the course file's git blob id
    index: int  # rank in the whole outline, for previous and next


@dataclass(frozen=True)
class Section:
    title: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class Track:
    title: str
    description: str
    sections: tuple[Section, ...]


@dataclass(frozen=True)
class Outline:
    tracks: tuple[Track, ...] = ()
    entries: tuple[Entry, ...] = ()
    problems: tuple[str, ...] = ()  # what was wrong with nbhosting.yaml, for staff
    by_path: dict[str, Entry] = field(default_factory=dict)

    def find(self, path: str) -> Entry | None:
        return self.by_path.get(path)

    def neighbours(self, entry: Entry) -> tuple[Entry | None, Entry | None]:
        before = self.entries[entry.index - 1] if entry.index > 0 else None
        after = self.entries[entry.index + 1] if entry.index + 1 < len(self.entries) else None
        return before, after


class OutlineError(ValueError):
    pass


_cache: dict[int, tuple[str, Outline]] = {}
_lock = threading.Lock()


def outline(course: Course) -> Outline:
    with _lock:
        cached = _cache.get(course.pk)
    if course.commit and cached and cached[0] == course.commit:
        return cached[1]
    built = build(course.repo_dir)
    if course.commit:  # a course without a commit (not a clone) is read each time
        with _lock:
            _cache[course.pk] = (course.commit, built)
    return built


def build(repo: Path) -> Outline:
    if not repo.is_dir():
        return Outline()
    problems: list[str] = []
    raw = None
    described = repo / OUTLINE_FILE
    if described.is_file() and not described.is_symlink():
        try:
            raw = _from_yaml(repo, described.read_text(encoding="utf-8"), problems)
        except (OutlineError, yaml.YAMLError, UnicodeDecodeError) as exc:
            problems.append(f"{OUTLINE_FILE} is not used: {_one_line(exc)}")
    if raw is None:
        raw = _from_folders(repo)
    return _number(repo, raw, problems)


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:300]


# -- nbhosting.yaml -----------------------------------------------------------------------------
RawTrack = tuple[str, str, list[tuple[str, list[tuple[str, str]]]]]  # title, description, sections


def _from_yaml(repo: Path, text: str, problems: list[str]) -> list[RawTrack]:
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or not isinstance(data.get("tracks"), list):
        raise OutlineError("it needs a list named tracks")
    tracks, seen = [], set()
    for t, track in enumerate(data["tracks"], start=1):
        if not isinstance(track, dict) or not isinstance(track.get("sections", []), list):
            raise OutlineError(f"track {t} needs a title and a list named sections")
        sections = []
        for s, section in enumerate(track.get("sections", []), start=1):
            if not isinstance(section, dict) or not isinstance(section.get("notebooks", []), list):
                raise OutlineError(f"track {t}, section {s} needs a title and a list named notebooks")
            notebooks = []
            for item in section.get("notebooks", []):
                path, title = (item, "") if isinstance(item, str) else (
                    (str(item.get("path", "")), str(item.get("title", ""))) if isinstance(item, dict) else ("", ""))
                found = _notebook(repo, path)
                if found is None:
                    problems.append(f"{OUTLINE_FILE}: track {t}, section {s}: no notebook {path!r}")
                elif found in seen:
                    problems.append(f"{OUTLINE_FILE}: {found} is listed twice; the first is kept")
                else:
                    seen.add(found)
                    notebooks.append((found, title))
            sections.append((str(section.get("title", "")), notebooks))
        tracks.append((str(track.get("title", f"Track {t}")), str(track.get("description", "")), sections))
    return tracks


def _notebook(repo: Path, path: str) -> str | None:
    try:
        return str(resolve(repo, path).source.relative_to(repo))
    except (InvalidName, NotebookNotFound):
        return None


# -- folders ------------------------------------------------------------------------------------
def _from_folders(repo: Path) -> list[RawTrack]:
    sections: dict[str, list[tuple[str, str]]] = {}
    _walk(repo, repo, sections)
    ordered = sorted(sections.items(), key=lambda item: (item[0] != "", _natural(item[0])))
    return [("", "", [(folder, notebooks) for folder, notebooks in ordered])] if ordered else []


def _walk(folder: Path, repo: Path, sections: dict[str, list[tuple[str, str]]]) -> None:
    for entry in sorted(folder.iterdir(), key=lambda p: _natural(p.name)):
        if entry.name.startswith(".") or entry.is_symlink():
            continue
        if entry.is_dir():
            _walk(entry, repo, sections)
        elif _is_notebook(entry):
            relative = entry.relative_to(repo)
            sections.setdefault("" if relative.parent == Path(".") else str(relative.parent), []).append(
                (str(relative), ""))


def _natural(name: str) -> list:
    """w2 before w10."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def _is_notebook(path: Path) -> bool:
    if path.suffix == ".ipynb":
        return True
    if path.suffix not in (".md", ".py") or path.stat().st_size > MAX_NOTEBOOK_BYTES:
        return False
    with open(path, encoding="utf-8", errors="replace") as text:
        return bool(TEXT_NOTEBOOK.search(text.read(4000)))


# -- titles and order ---------------------------------------------------------------------------
def _number(repo: Path, raw: list[RawTrack], problems: list[str]) -> Outline:
    tracks, entries = [], []
    for title, description, sections in raw:
        built_sections = []
        for section_title, notebooks in sections:
            built = []
            for path, given in notebooks:
                entry = Entry(path, given or notebook_title(repo / path), blob_id(repo / path), len(entries))
                entries.append(entry)
                built.append(entry)
            built_sections.append(Section(section_title, tuple(built)))
        tracks.append(Track(title, description, tuple(built_sections)))
    return Outline(tuple(tracks), tuple(entries), tuple(problems), {e.path: e for e in entries})


def notebook_title(path: Path) -> str:
    """The notebook's `notebookname` metadata, else its first heading, else its name."""
    try:
        if path.suffix == ".ipynb":
            notebook = json.loads(path.read_text(encoding="utf-8"))
            metadata, cells = notebook.get("metadata", {}), notebook.get("cells", [])
            markdown = ["".join(c.get("source", "")) for c in cells if c.get("cell_type") == "markdown"]
        else:
            notebook = jupytext.read(path)
            metadata = notebook.metadata
            markdown = [c.source for c in notebook.cells if c.cell_type == "markdown"]
    except (OSError, ValueError, UnicodeDecodeError, AttributeError) as exc:
        log.info("cannot read %s: %s", path, exc)
        return path.stem
    if metadata.get("notebookname"):
        return str(metadata["notebookname"])
    for text in markdown:
        if heading := HEADING.search(text):
            return heading[1]
    return path.stem
