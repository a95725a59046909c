"""Extra report sections that other commands add to a run (the report's extension point).

A run folder may hold ``figures/sections.json``: a JSON list of sections, each

    {"title": "Inside the network",                       # required, unique key
     "text": "Feature maps of the first conv layer.",     # optional plain text
     "figures": [{"file": "figures/feature_maps.png",     # relative to the run folder
                  "caption": "32 feature maps of one test digit"}]}

``write_report`` renders every section after its own, in file order, embedding each figure
(PNG or JPEG) in the HTML. Commands call :func:`add_report_section` rather than editing the
file: it replaces a section of the same title (so re-running a command does not duplicate
it) or appends a new one, and writes the file atomically.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deepscope.errors import RunError, invalid
from deepscope.train.files import read_json, write_json

__all__ = ["SECTIONS_FILE", "ReportFigure", "ReportSection", "add_report_section", "read_sections"]

SECTIONS_FILE = Path("figures") / "sections.json"  # relative to the run folder


@dataclass(frozen=True)
class ReportFigure:
    """A figure file (relative to the run folder) and its caption."""

    file: str
    caption: str = ""


@dataclass(frozen=True)
class ReportSection:
    title: str
    text: str = ""
    figures: tuple[ReportFigure, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "text": self.text,
            "figures": [{"file": f.file, "caption": f.caption} for f in self.figures],
        }


def read_sections(run_path: str | Path) -> list[ReportSection]:
    """The sections listed in ``run_path/figures/sections.json`` (none if the file is absent).
    A file that does not follow the format raises RunError naming the entry at fault."""
    path = Path(run_path) / SECTIONS_FILE
    if not path.exists():
        return []
    raw = read_json(path)
    if not isinstance(raw, list):
        raise RunError(f"{path} is damaged: it must hold a JSON list of sections. Received: {type(raw).__name__}.")
    sections = []
    for n, entry in enumerate(raw, start=1):
        where = f"{path}, section {n}"
        if not isinstance(entry, dict) or not isinstance(entry.get("title"), str) or not entry["title"]:
            raise RunError(f"{where} must be an object with a non-empty 'title' string. Received: {entry!r}.")
        text = entry.get("text", "")
        figures = entry.get("figures", [])
        if not isinstance(text, str):
            raise RunError(f"{where}: 'text' must be a string. Received: {text!r}.")
        if not isinstance(figures, list):
            raise RunError(f"{where}: 'figures' must be a list. Received: {figures!r}.")
        parsed = []
        for figure in figures:
            if (
                not isinstance(figure, dict)
                or not isinstance(figure.get("file"), str)
                or not isinstance(figure.get("caption", ""), str)
            ):
                raise RunError(f"{where}: each figure must be {{'file': str, 'caption': str}}. Received: {figure!r}.")
            parsed.append(ReportFigure(figure["file"], figure.get("caption", "")))
        sections.append(ReportSection(entry["title"], text, tuple(parsed)))
    return sections


def add_report_section(
    run_path: str | Path, title: str, figures: Sequence[tuple[str | Path, str]], text: str = ""
) -> Path:
    """Add (or replace, by ``title``) a section of the run's report. ``figures`` is a list of
    ``(file, caption)``; each file must exist inside the run folder (absolute, relative to
    the run folder, or relative to the working directory). The next ``write_report`` shows
    the section. Returns sections.json's path."""
    run_path = Path(run_path)
    if not (run_path / "config.json").is_file():
        raise RunError(f"{run_path} is not a run folder (it has no config.json).")
    if not isinstance(title, str) or not title.strip():
        raise invalid("title", "a non-empty string", title)
    if not isinstance(text, str):
        raise invalid("text", "a string", text)
    if isinstance(figures, (str, Path)) or not all(
        isinstance(f, (tuple, list)) and len(f) == 2 and isinstance(f[1], str) for f in figures
    ):
        raise invalid("figures", "a list of (file, caption) pairs", figures)
    entries = [
        ReportFigure(relative_to_run(run_path, _locate(run_path, Path(file)), must_exist=True), caption)
        for file, caption in figures
    ]
    section = ReportSection(title, text, tuple(entries))
    sections = read_sections(run_path)
    titles = [s.title for s in sections]
    if title in titles:
        sections[titles.index(title)] = section
    else:
        sections.append(section)
    path = run_path / SECTIONS_FILE
    write_json(path, [s.to_dict() for s in sections])
    return path


def _locate(run_path: Path, file: Path) -> Path:
    """A relative ``file`` is taken relative to the run folder, or else to the working
    directory (what ``save_figure(fig, run.path / ...)`` returns when run.path is relative)."""
    if file.is_absolute() or (run_path / file).exists() or not file.exists():
        return file
    return file.resolve()


def relative_to_run(run_path: Path, file: Path, *, must_exist: bool) -> str:
    """``file`` as a POSIX path relative to the run folder; RunError if it lies outside it
    (a report only embeds files of its own run) or, with ``must_exist``, is missing."""
    root = run_path.resolve()
    resolved = (file if file.is_absolute() else run_path / file).resolve()
    if not resolved.is_relative_to(root):
        raise RunError(f"Report figure {file} must lie inside the run folder {run_path}.")
    if must_exist and not resolved.is_file():
        raise RunError(f"Report figure {resolved} does not exist.")
    return resolved.relative_to(root).as_posix()
