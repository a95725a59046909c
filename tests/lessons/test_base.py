"""The lesson framework: the registry, run()'s checks, numbers.json and the self-contained page."""

from __future__ import annotations

import base64
import html
import json

import numpy as np
import pytest

from deepscope import lessons, plots
from deepscope.errors import InvalidArgumentError, UnknownNameError
from deepscope.lessons.base import LESSONS, LessonPage, Table, format_number, register_lesson, save_animation


@pytest.fixture
def toy_lesson():
    """A registered lesson that draws one line and one two-frame animation."""

    @register_lesson("toy", order=99, title="A toy lesson", summary="a line", takes_data=True, data_default="digits")
    def toy(out, *, seed, data, echo):
        fig = plots.new_figure(3, 2)
        fig.add_subplot().plot([0, 1], [seed, 1])
        line = plots.save_figure(fig, out / "line.png")
        frames = []
        for k in range(2):
            frame = plots.new_figure(3, 2)
            frame.add_subplot().plot([0, 1], [k, 0])
            frames.append(frame)
        gif = save_animation(frames, out / "steps.gif")
        table = Table("Losses", ["rate", "loss"], [[0.1, 0.25], [10.0, float("inf")]])
        return LessonPage(
            "Descend <carefully>.", [(line, "a line"), (gif, "two frames")], {"loss": float("inf")}, [table]
        )

    yield "toy"
    LESSONS._entries.pop("toy")


def test_a_lesson_writes_its_figures_numbers_and_one_page_with_everything_inside(toy_lesson, tmp_path):
    result = lessons.run(toy_lesson, tmp_path / "out", seed=3)
    assert [p.name for p in result.files] == ["line.png", "steps.gif", "numbers.json", "lesson.html"]
    assert all(p.is_file() for p in result.files)
    numbers = json.loads((tmp_path / "out" / "numbers.json").read_text())
    assert numbers["loss"] == "inf" and numbers["seed"] == 3 and numbers["data"] == "digits"  # JSON has no inf
    assert numbers["seconds"] == pytest.approx(result.seconds)
    page = result.page.read_text()
    gif = base64.b64encode((tmp_path / "out" / "steps.gif").read_bytes()).decode()
    assert f"data:image/gif;base64,{gif}" in page and "data:image/png;base64," in page  # no file links
    assert "Descend &lt;carefully&gt;." in page and "<td>inf</td>" in page and "<td>0.25</td>" in page
    assert "deepscope lesson toy --seed 3" in page
    inline = result._repr_html_()  # a notebook shows the page in a frame
    assert inline.startswith("<iframe srcdoc=") and html.escape(page, quote=True) in inline
    from PIL import Image

    with Image.open(tmp_path / "out" / "steps.gif") as gif_image:
        assert gif_image.n_frames == 2


def test_bad_names_seeds_data_and_folders_are_named(toy_lesson, tmp_path):
    with pytest.raises(UnknownNameError, match="Unknown lesson 'decent'. Did you mean 'descent'"):
        lessons.run("decent", tmp_path)
    with pytest.raises(InvalidArgumentError, match=r"`seed` must be an int in \[0, 2\*\*32\). Received: seed=-1"):
        lessons.run(toy_lesson, tmp_path, seed=-1)
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidArgumentError, match="`out` must be a folder"):
        lessons.run(toy_lesson, tmp_path / "file")
    LESSONS._entries["toy"].meta["takes_data"] = False
    with pytest.raises(InvalidArgumentError, match="`data` must be None: the toy lesson makes its own numbers"):
        lessons.run(toy_lesson, tmp_path / "x", data="digits")


def test_animation_frames_must_share_one_size(tmp_path):
    with pytest.raises(InvalidArgumentError, match="`figures` must be at least one figure"):
        save_animation([], tmp_path / "x.gif")
    with pytest.raises(InvalidArgumentError, match="`figures` must be frames of one size"):
        save_animation([plots.new_figure(3, 2), plots.new_figure(4, 2)], tmp_path / "x.gif")
    assert not (tmp_path / "x.gif").exists()


def test_table_numbers_read_well():
    assert [format_number(v) for v in (0.123456, 1e-7, 123456.0, 3, float("nan"), np.float64(2.5).item())] == [
        "0.1235",
        "1.000e-07",
        "1.235e+05",
        "3",
        "nan",
        "2.5",
    ]
