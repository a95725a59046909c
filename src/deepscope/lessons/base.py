"""What every lesson shares: the registry, the result, timing, and the page that puts the
figures together.

A lesson is a function ``lesson(out, *, seed, data, echo) -> LessonPage``: it computes its
numbers with the project's own trainer, mechanics and plots, writes its figures (PNG, and a
GIF where motion teaches) into ``out`` and returns what the page should say. :func:`run`
times it and writes ``numbers.json`` and ``lesson.html`` (self-contained: every image is
embedded) beside the figures.
"""

from __future__ import annotations

import base64
import html
import importlib
import io
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepscope.atomic import atomic_write
from deepscope.errors import UnknownNameError, invalid
from deepscope.registry import Entry, Registry

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "COURSE",
    "LESSONS",
    "LessonPage",
    "LessonResult",
    "Table",
    "get",
    "lesson_names",
    "register_lesson",
    "run",
    "save_animation",
]

LESSONS: Registry[Callable[..., LessonPage]] = Registry("lesson")
# The lessons in course order; lesson NAME lives in module deepscope.lessons.NAME and is
# registered when that module is first imported (by get(), so one lesson loads only its own).
COURSE = ("descent", "minibatch", "autodiff", "program", "overfit", "rnn")


def register_lesson(
    name: str,
    *,
    order: int,
    title: str,
    summary: str,
    takes_data: bool = False,
    data_default: str = "",
    takes_model: bool = False,
):
    """Register a lesson under ``name``. ``order``: its place in the course (``deepscope
    lesson`` lists by it); ``summary``: one line for that list; ``takes_data``: the lesson
    trains on an image data spec (``--data``, default ``data_default``), else ``--data`` is
    refused; ``takes_model``: the lesson can work on the user's own trained model (``--run``),
    passed to it as ``model=`` with its data spec as ``data=``."""
    return LESSONS.register(
        name,
        order=order,
        title=title,
        summary=summary,
        takes_data=takes_data,
        data_default=data_default,
        takes_model=takes_model,
    )


def lesson_names() -> list[str]:
    """The lessons in course order (every lesson module imported)."""
    for name in COURSE:
        get(name)
    return [entry.name for entry in sorted(LESSONS, key=lambda entry: entry.meta["order"])]


def get(name: str) -> Entry:
    """Lesson ``name``'s registry entry, its module imported on first use; an unknown name
    raises UnknownNameError with the closest names."""
    if name not in LESSONS:
        if not isinstance(name, str) or name not in COURSE:
            raise UnknownNameError("lesson", str(name), COURSE)
        importlib.import_module(f"deepscope.lessons.{name}")
    return LESSONS.get(name)


def save_animation(figures: Sequence[Figure], path: str | Path, duration_ms: int = 600) -> Path:
    """Matplotlib figures as the frames of a looping GIF at ``path`` (written atomically);
    the figures are closed. Every frame must have the first one's size."""
    from PIL import Image

    from deepscope.plots import figure_png, save_gif

    if not figures:
        raise invalid("figures", "at least one figure", figures)
    frames = []
    for fig in figures:
        frames.append(Image.open(io.BytesIO(figure_png(fig))).convert("RGB"))
        _close(fig)
    if any(frame.size != frames[0].size for frame in frames):
        raise invalid("figures", "frames of one size", sorted({frame.size for frame in frames}))
    return save_gif(frames, path, duration_ms=duration_ms)


def _close(fig: Figure) -> None:
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(fig)


@dataclass(frozen=True)
class Table:
    """A table for the page: ``title``, column names, rows of values (numbers are formatted)."""

    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]


@dataclass
class LessonPage:
    """What a lesson hands back: the paragraph that explains it, its figures as (file in the
    lesson's folder, caption), tables, and the measured numbers (JSON-able) that the tests and
    the docs quote."""

    paragraph: str
    figures: list[tuple[Path, str]]
    numbers: dict[str, Any] = field(default_factory=dict)
    tables: list[Table] = field(default_factory=list)


@dataclass
class LessonResult:
    """A finished lesson: its folder, the files written (figures, ``numbers.json``,
    ``lesson.html``), the measured numbers and the seconds it took."""

    name: str
    title: str
    out: Path
    files: list[Path]
    numbers: dict[str, Any]
    seconds: float
    page: Path
    tables: list[Table] = field(default_factory=list)

    def _repr_html_(self) -> str:
        """In a notebook: the lesson's page inline, in a frame of its own (its styles stay inside)."""
        text = html.escape(self.page.read_text(encoding="utf-8"), quote=True)
        return f'<iframe srcdoc="{text}" style="width:100%;height:900px;border:1px solid #ddd"></iframe>'


def run(
    name: str,
    out: str | Path | None = None,
    *,
    seed: int = 0,
    data: str | None = None,
    model: Any = None,
    echo: Callable[[str], None] = lambda line: None,
) -> LessonResult:
    """Run lesson ``name`` (``deepscope lesson`` lists them) into folder ``out`` (default
    ``lessons/<name>``): its figures, ``numbers.json`` and ``lesson.html``. ``seed`` makes it
    repeatable; ``data``: an image data spec for the lessons that train on images (default
    the built-in digits). ``model``: the user's own trained ``nn.Module`` for the lessons that
    take one (``autodiff``), with ``data`` the spec of the data it reads. ``echo`` receives
    progress lines."""
    entry = get(name)
    if model is not None:
        if not entry.meta["takes_model"]:
            takers = [n for n in lesson_names() if LESSONS.get(n).meta["takes_model"]]
            raise invalid(
                "model",
                f"None: the {name} lesson uses its own model (--run is for {', '.join(takers)})",
                type(model).__name__,
            )
        if data is None:
            raise invalid("data", "the data spec the model reads, given with model=", data)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise invalid("seed", "an int in [0, 2**32)", seed)
    if data is not None and model is None and not entry.meta["takes_data"]:
        takers = [n for n in lesson_names() if LESSONS.get(n).meta["takes_data"]]
        raise invalid(
            "data", f"None: the {name} lesson makes its own numbers (--data is for {', '.join(takers)})", data
        )
    out = Path(out) if out is not None else Path("lessons") / name
    if out.exists() and not out.is_dir():
        raise invalid("out", "a folder (or a path where one can be made)", f"{out} (a file)")
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    extra = {"model": model} if model is not None else {}
    page = entry.builder(out, seed=seed, data=data or entry.meta["data_default"] or None, echo=echo, **extra)
    seconds = time.perf_counter() - started
    numbers = {**page.numbers, "seconds": seconds, "seed": seed}
    if entry.meta["takes_data"] or model is not None:
        numbers["data"] = data or entry.meta["data_default"]
    numbers_path = out / "numbers.json"
    atomic_write(numbers_path, lambda tmp: tmp.write_text(json.dumps(_jsonable(numbers), indent=2), encoding="utf-8"))
    page_path = out / "lesson.html"
    if model is not None:
        command = f"deepscope lesson {name} --run RUN (a {type(model).__name__} reading {data})"
    else:
        command = f"deepscope lesson {name} --seed {seed}" + (f" --data {data}" if data else "")
    text = _page_html(entry.meta["title"], page, numbers, command)
    atomic_write(page_path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    files = [path for path, _ in page.figures] + [numbers_path, page_path]
    return LessonResult(name, entry.meta["title"], out, files, numbers, seconds, page_path, list(page.tables))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no inf/nan: "inf" says that a run diverged
    if hasattr(value, "item"):  # numpy / torch scalars
        return _jsonable(value.item())
    return value


def format_number(value: Any) -> str:
    """A table cell: floats with 4 significant digits (scientific when tiny or huge)."""
    if isinstance(value, bool) or not isinstance(value, float):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    return f"{value:.3e}" if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5) else f"{value:.4g}"


_MIME = {".png": "image/png", ".gif": "image/gif"}


def _page_html(title: str, page: LessonPage, numbers: dict[str, Any], command: str) -> str:
    """One self-contained page: the paragraph, every figure embedded, the tables, the command."""
    e = html.escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>deepscope lesson: {e(title)}</title>",
        "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}"
        "figure{margin:1.5em 0}img{max-width:100%;border:1px solid #ddd}figcaption{color:#555;font-size:14px}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
        "th{background:#f4f4f4}code{background:#f4f4f4;padding:1px 4px}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        f"<p>{e(page.paragraph)}</p>",
    ]
    for path, caption in page.figures:
        mime = _MIME.get(path.suffix.lower())
        if mime is None:
            raise invalid("figures", "PNG or GIF files", str(path))
        encoded = base64.b64encode(path.read_bytes()).decode("ascii")
        parts.append(
            f"<figure><img src='data:{mime};base64,{encoded}' alt='{e(caption)}'>"
            f"<figcaption>{e(caption)}</figcaption></figure>"
        )
    for table in page.tables:
        head = "".join(f"<th>{e(str(c))}</th>" for c in table.columns)
        body = "".join("<tr>" + "".join(f"<td>{e(format_number(v))}</td>" for v in row) + "</tr>" for row in table.rows)
        parts.append(f"<h2>{e(table.title)}</h2><table><tr>{head}</tr>{body}</table>")
    parts.append(
        f"<p>Made by <code>{e(command)}</code> in {numbers['seconds']:.1f} s; "
        "the numbers are in <code>numbers.json</code> beside this page.</p></body></html>"
    )
    return "\n".join(parts)
