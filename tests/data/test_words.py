"""Rendered words for OCR: shapes, labels, determinism, fonts and bad settings."""

from __future__ import annotations

import pytest
import torch

from deepscope import limits
from deepscope.data import load
from deepscope.data.words import ALPHABET, decode_labels, encode_words, find_fonts, render_words
from deepscope.errors import DataError, InvalidArgumentError

SMALL = "words?train=60&test=20&max_len=5&height=24&width=96"


@pytest.fixture(scope="module")
def small():
    return load(SMALL)


def test_words_shapes_labels_and_splits(small):
    assert small.kind == "image" and small.task == "ctc" and small.input_shape == (1, 24, 96)
    assert small.classes == list(ALPHABET) and small.classes[-1] == " " and len(small.classes) == 27
    assert [len(small.split(s)) for s in ("train", "val", "test")] == [54, 6, 20]
    x, y = small.train.tensors
    assert x.dtype == torch.float32 and float(x.min()) >= 0 and float(x.max()) <= 1
    assert y.dtype == torch.long and y.shape == (54, 5) and int(y.min()) >= 0 and int(y.max()) <= 27
    lengths = (y > 0).sum(dim=1)
    assert int(lengths.min()) >= 1 and int(lengths.max()) <= 5
    assert not ((y[:, 1:] > 0) & (y[:, :-1] == 0)).any()  # 0 pads the end only
    words = [decode_labels(row) for row in torch.cat([y, small.test.tensors[1]])]
    assert all(w == w.strip() and "  " not in w for w in words)  # spaces only inside, never doubled
    assert small.info["text"] == "white on black" and small.info["fonts"]


def test_words_are_white_text_on_black(small):
    x = small.train.tensors[0][:, 0]  # (N, H, W)
    assert float(x.median()) < 0.15  # the background is dark
    assert bool((x.flatten(1).amax(dim=1) > 0.5).all())  # every image has bright ink (thin fonts are greyer)


def test_words_are_repeatable_and_the_seed_moves_only_training_words():
    a, b, c = load(SMALL, seed=1), load(SMALL, seed=1), load(SMALL, seed=2)
    assert torch.equal(a.train.tensors[0], b.train.tensors[0]) and torch.equal(a.val.tensors[1], b.val.tensors[1])
    assert not torch.equal(a.train.tensors[1], c.train.tensors[1])
    assert torch.equal(a.test.tensors[0], c.test.tensors[0]) and torch.equal(a.test.tensors[1], c.test.tensors[1])


def _ink_extent(image: torch.Tensor) -> int:
    """Columns from the first to the last holding 2+ bright pixels (ink, not speckle) of an image (1, H, W)."""
    columns = torch.nonzero((image[0] > 0.6).sum(dim=0) >= 2).flatten()
    return int(columns[-1] - columns[0] + 1) if len(columns) else 0


def test_words_are_scaled_to_fit_the_width():
    images = render_words(["mmmmmmmm", "m", "mmmm"], height=32, width=128, seed=0, fonts=[])  # Pillow's own font
    assert images.shape == (3, 1, 32, 128)
    wide, narrow, middle = (_ink_extent(image) for image in images)
    # 8 letters shrunk to 90% of the width then scaled by 0.75-1.0; one letter keeps its size (~19 px)
    assert 0.75 * 0.9 * 128 - 2 <= wide <= 0.9 * 128 + 2 and 10 <= narrow <= 22 and narrow < middle


def test_pillows_built_in_font_is_the_fallback():
    images = render_words(["abc", "xyz"], height=32, width=96, seed=0, fonts=[])
    assert images.shape == (2, 1, 32, 96) and all(_ink_extent(image) > 15 for image in images)


def test_find_fonts_keeps_fonts_that_draw_the_alphabet(tmp_path):
    (tmp_path / "broken.ttf").write_bytes(b"not a font")
    assert find_fonts((str(tmp_path),)) == []
    fonts = find_fonts()
    if not fonts:
        pytest.skip("no TrueType fonts on this machine")
    assert fonts == sorted(fonts) and all(f.lower().endswith((".ttf", ".otf")) for f in fonts)


def test_encode_and_decode_words():
    labels = encode_words(["ab", "z z", ""], 4)
    assert labels.tolist() == [[1, 2, 0, 0], [26, 27, 26, 0], [0, 0, 0, 0]]
    assert [decode_labels(row) for row in labels] == ["ab", "z z", ""]
    with pytest.raises(InvalidArgumentError, match="at most 3 of the characters"):
        encode_words(["Abc"], 3)


@pytest.mark.parametrize(
    "spec, message",
    [
        ("words?train=0", r"`train` must be an int in \[10, 1000000\]. Received: train=0"),
        ("words?train=1000000000", r"`train` must be an int in \[10, 1000000\]"),
        ("words?height=4096", r"`height` must be an int in \[16, 128\]. Received: height=4096"),
        ("words?max_len=20&width=128", r"`width` must be >= 8 \* max_len = 160 pixels. Received: width=128"),
        ("words?max_len=abc", r"`max_len` must be a value of type int. Received: max_len='abc'"),
        ("words?lenght=4", r"Unknown words option 'lenght'"),
    ],
)
def test_bad_settings_fail_clearly(spec, message):
    with pytest.raises(InvalidArgumentError, match=message):
        load(spec)


def test_a_path_or_too_much_memory_is_refused():
    with pytest.raises(DataError, match="takes settings, not a path"):
        load("words:/tmp")
    with limits.override(memory="1MB"), pytest.raises(DataError, match="word images would need"):
        load("words?train=1000&test=100")
