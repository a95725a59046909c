"""Rendered words for OCR (Keras' image_ocr example): ``words?train=20000&test=2000&max_len=8``.

Each sample is a random string over ``ALPHABET`` (26 lowercase letters and the space, Keras'
alphabet) drawn as **white text on a black background**, a grey image (1, height, width) in
[0, 1] -- MNIST's convention, and the one in which the empty margins left by a rotation are
simply background. Per word:

- 1..``max_len`` characters (uniform length), letters uniform; an inner character is a space
  with probability 0.1 (never first, last or doubled: a leading space would be invisible);
- a random font among the TrueType/OpenType fonts found on the machine (Debian's DejaVu and
  Liberation families, ...), or Pillow's built-in scalable font when there are none; the
  fonts used are listed in ``info['fonts']``;
- letters set by their advance widths (no kerning), scaled to fit the width, then a random
  rotation (+-3 degrees), scale (0.75-1.0 of the fitted size) and shift inside the frame;
- Keras' speckle: Gaussian noise of a random strength (0-0.6), blurred (sigma 1), added and
  clipped to [0, 1].

Targets are (N, max_len) long tensors: label k in 1..K names ``classes[k - 1]``, 0 pads the end
(the CTC task's blank is index 0 of the model's outputs, so label k is output k). The training
words are drawn from ``seed`` (the split seed: runs with different seeds see different
words), the test words from a fixed seed, so every run is scored on the same test set; a short
word may occur in both (there are only 26 one-letter words), its image never does. Validation
is carved from train (``split_train_val``).

Rendering is vectorised where it can be: the glyphs of every font are rasterised once, a
word is pasted from them, and the geometry (one affine warp per word) and the noise are
applied to whole chunks of words at once in torch.
"""

from __future__ import annotations

import functools
import glob
import math
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import TensorDataset

from deepscope import limits
from deepscope.data.catalog import register_dataset
from deepscope.data.options import parse_spec_options
from deepscope.data.spec import Dataset, split_train_val
from deepscope.errors import DataError, invalid

__all__ = [
    "ALPHABET",
    "FONT_FOLDERS",
    "decode_labels",
    "encode_words",
    "find_fonts",
    "load_words",
    "random_words",
    "render_words",
]

ALPHABET = "abcdefghijklmnopqrstuvwxyz "  # label k is ALPHABET[k - 1]; 0 pads (Keras: lowercase + space)
SPACE_RATE = 0.1  # chance that an inner character is a space
ROTATION = 3.0  # degrees, either way
SCALE = (0.75, 1.0)  # of the size that fits the frame
SPECKLE = 0.6  # largest noise strength (Keras' speckle: uniform(0, 0.6))
FONT_SIZE = 0.8  # of the image height: the letters' ascender-to-descender span is about 0.6 of it
FONT_FOLDERS = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "~/.local/share/fonts",
    "~/.fonts",
    "/Library/Fonts",
    "/System/Library/Fonts",
    "C:/Windows/Fonts",
)
MAX_FONTS = 64  # a desktop may hold thousands; the first 64 (sorted by path) are plenty of variety
TEST_SEED = 90_001  # the test words: the same for every run
CHUNK = 1024  # words warped and speckled at once
LIMITS = {  # bounds of the spec's settings: hostile values fail before anything is allocated
    "train": (10, 1_000_000),
    "test": (1, 200_000),
    "max_len": (1, 64),
    "height": (16, 128),
    "width": (16, 2048),
}
MIN_CHAR_WIDTH = 8  # pixels per character at the longest length (width >= 8 * max_len)


# ----------------------------------------------------------------------------- words and labels
def random_words(n: int, max_len: int, rng: np.random.Generator) -> list[str]:
    """``n`` random strings of 1..``max_len`` characters of ``ALPHABET`` (see the module docstring)."""
    lengths = rng.integers(1, max_len + 1, size=n)  # (n,)
    letters = rng.integers(0, 26, size=(n, max_len))  # (n, max_len) indices of a..z
    position = np.arange(max_len)
    inner = (position >= 1) & (position < lengths[:, None] - 1)  # (n, max_len)
    space = (rng.random((n, max_len)) < SPACE_RATE) & inner
    space[:, 1:] &= ~space[:, :-1]  # never two spaces in a row
    codes = np.where(space, 26, letters)
    table = np.array(list(ALPHABET))
    return ["".join(table[row[:length]]) for row, length in zip(codes, lengths.tolist())]


def encode_words(words: list[str], max_len: int) -> torch.Tensor:
    """Words -> labels (N, max_len): ``ALPHABET[k - 1]`` is label k, 0 pads the end."""
    bad = next((w for w in words if len(w) > max_len or not set(w) <= set(ALPHABET)), None)
    if bad is not None:
        raise invalid("words", f"strings of at most {max_len} of the characters {ALPHABET!r}", bad)
    table = np.zeros(128, dtype=np.int64)
    table[np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)] = np.arange(1, len(ALPHABET) + 1)
    padded = "".join(w.ljust(max_len, "\0") for w in words).encode("ascii")  # NUL -> label 0
    return torch.from_numpy(table[np.frombuffer(padded, dtype=np.uint8)].reshape(len(words), max_len))


def decode_labels(labels: torch.Tensor | list[int], classes: list[str] | str = ALPHABET) -> str:
    """One label sequence (labels 1..K, 0 = padding, skipped) -> its string of ``classes``."""
    values = labels.tolist() if isinstance(labels, torch.Tensor) else labels
    return "".join(classes[k - 1] for k in values if k > 0)


# ----------------------------------------------------------------------------- fonts
def find_fonts(folders: tuple[str, ...] = FONT_FOLDERS) -> list[str]:
    """TrueType/OpenType fonts under the common font folders that draw every letter of the
    alphabet (symbol and script-only fonts are left out), at most ``MAX_FONTS``, sorted."""
    found: set[str] = set()
    for folder in folders:
        root = os.path.expanduser(folder)
        if os.path.isdir(root):
            for pattern in ("*.ttf", "*.otf", "*.TTF", "*.OTF"):
                found.update(glob.glob(os.path.join(root, "**", pattern), recursive=True))
    usable = []
    for path in sorted(found):
        if len(usable) == MAX_FONTS:
            break
        if os.path.isfile(path) and _glyphs(path, 24) is not None:
            usable.append(path)
    return usable


@functools.lru_cache(maxsize=256)
def _glyphs(path: str | None, size: int) -> tuple[dict[str, tuple[np.ndarray, int, int, float]], int, int] | None:
    """The alphabet of one font (``path``; None: Pillow's built-in font) rasterised at ``size``:
    ({char: (ink mask (h, w) uint8, left, top, advance)}, span top, span bottom), offsets in
    pixels from the pen position on the baseline; the span covers every letter's ink. None when
    the font cannot be read or lacks a letter (its missing-glyph boxes all look the same)."""
    from PIL import Image, ImageDraw, ImageFont

    try:
        font = ImageFont.truetype(path, size) if path is not None else ImageFont.load_default(size=size)
    except OSError:
        return None
    table: dict[str, tuple[np.ndarray, int, int, float]] = {}
    canvas = Image.new("L", (4 * size, 4 * size))
    draw = ImageDraw.Draw(canvas)
    for ch in ALPHABET:
        canvas.paste(0, (0, 0, *canvas.size))
        try:
            draw.text((size, 3 * size), ch, font=font, fill=255, anchor="ls")
            advance = float(font.getlength(ch))
        except (OSError, ValueError, TypeError):  # a bitmap-only font, or no scalable glyphs
            return None
        box = canvas.getbbox()
        if box is None:
            if ch != " ":
                return None
            table[ch] = (np.zeros((0, 0), np.uint8), 0, 0, advance)
            continue
        table[ch] = (np.asarray(canvas.crop(box)).copy(), box[0] - size, box[1] - 3 * size, advance)
    letters = [table[ch][0] for ch in ALPHABET if ch != " "]
    if len({(m.shape, m.tobytes()) for m in letters}) < len(letters) or table[" "][3] <= 0:
        return None
    top = min(table[ch][2] for ch in ALPHABET if ch != " ")
    bottom = max(table[ch][2] + table[ch][0].shape[0] for ch in ALPHABET if ch != " ")
    return table, top, bottom


# ----------------------------------------------------------------------------- rendering
def render_words(
    words: list[str], *, height: int = 32, width: int = 128, seed: int = 0, fonts: list[str] | None = None
) -> torch.Tensor:
    """Draw ``words`` (strings of ``ALPHABET``) as white-on-black images (N, 1, height, width)
    in [0, 1], each in a random one of ``fonts`` (paths; default :func:`find_fonts`, and
    Pillow's built-in font when there are none) with a random rotation, scale, shift and
    speckle (module docstring)."""
    if fonts is None:
        fonts = find_fonts()
    size = max(8, round(FONT_SIZE * height))
    tables = [_glyphs(p, size) for p in fonts] or [_glyphs(None, size)]
    if any(t is None for t in tables):
        raise DataError(f"Cannot draw the alphabet {ALPHABET!r} with the fonts {fonts}.")
    rng = np.random.default_rng(seed)
    n = len(words)
    font_of = rng.integers(0, len(tables), size=n)  # (N,)
    angle = np.deg2rad(rng.uniform(-ROTATION, ROTATION, size=n))
    scale = rng.uniform(*SCALE, size=n)
    shift = rng.uniform(-1, 1, size=(n, 2))  # share of the slack left around the word, x and y
    strength = rng.uniform(0, SPECKLE, size=n)
    generator = torch.Generator().manual_seed(int(rng.integers(2**63)))  # the noise
    images = torch.empty((n, 1, height, width), dtype=torch.float32)
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        canvas, ink = _paste(words[start:stop], [tables[k] for k in font_of[start:stop]], size)
        theta = _affine(ink, angle[start:stop], scale[start:stop], shift[start:stop], canvas.shape[2:], height, width)
        grid = _grid(theta, height, width)
        chunk = F.grid_sample(canvas, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        images[start:stop] = _speckle(chunk, strength[start:stop], generator)
    return images


def _paste(words: list[str], tables: list, size: int) -> tuple[torch.Tensor, np.ndarray]:
    """Words pasted glyph by glyph on one black canvas each: (n, 1, Hc, Wc) in [0, 1] and each
    word's ink box (n, 4) as (left, top, right, bottom) in canvas pixels."""
    layouts, extent = [], 1.0
    for word, (table, top, bottom) in zip(words, tables):
        pen, placed = 0.0, []
        for ch in word:
            mask, left, glyph_top, advance = table[ch]
            if mask.size:
                placed.append((mask, round(pen) + left, glyph_top))
            pen += advance
        lo = min((x for _, x, _ in placed), default=0)
        hi = max((x + m.shape[1] for m, x, _ in placed), default=1)
        layouts.append((placed, lo, hi, top, bottom))
        extent = max(extent, hi - lo)
    canvas_h, canvas_w = 2 * size, int(math.ceil(extent)) + 4
    canvas = np.zeros((len(words), canvas_h, canvas_w), dtype=np.uint8)
    ink = np.zeros((len(words), 4), dtype=np.float64)
    for i, (placed, lo, hi, top, bottom) in enumerate(layouts):
        dx, baseline = 2 - lo, (canvas_h - (bottom - top)) // 2 - top  # the letters' span centred vertically
        for mask, x, y in placed:
            r, c = baseline + y, dx + x
            h, w = mask.shape
            r0, c0 = max(r, 0), max(c, 0)
            region = canvas[i, r0 : r + h, c0 : c + w]
            np.maximum(region, mask[r0 - r : r0 - r + region.shape[0], c0 - c : c0 - c + region.shape[1]], out=region)
        ink[i] = (dx + lo, baseline + top, dx + hi, baseline + bottom)
    return torch.from_numpy(canvas).float().div_(255).unsqueeze(1), ink


def _affine(
    ink: np.ndarray,
    angle: np.ndarray,
    scale: np.ndarray,
    shift: np.ndarray,
    canvas: tuple[int, int],
    height: int,
    width: int,
) -> torch.Tensor:
    """The ``affine_grid`` matrices (n, 2, 3) that take each output pixel to the canvas: the
    word's ink box fitted into 90% of the frame, scaled by ``scale``, turned by ``angle``
    (radians) about its centre, and moved by ``shift`` times the slack around it."""
    canvas_h, canvas_w = canvas
    ink_w, ink_h = ink[:, 2] - ink[:, 0], ink[:, 3] - ink[:, 1]
    s = np.minimum(np.minimum(0.9 * width / ink_w, 0.9 * height / ink_h), 1.0) * scale  # (n,) canvas -> output
    slack_x = np.maximum(width - s * ink_w, 0) / 2
    slack_y = np.maximum(height - s * ink_h, 0) / 2
    tx, ty = shift[:, 0] * slack_x * 0.8, shift[:, 1] * slack_y * 0.8  # (n,) output pixels
    cos, sin = np.cos(angle) / s, np.sin(angle) / s
    # canvas offset from its centre = R(angle) / s @ (output offset from its centre - t) + ink centre offset
    cx = (ink[:, 0] + ink[:, 2]) / 2 - canvas_w / 2
    cy = (ink[:, 1] + ink[:, 3]) / 2 - canvas_h / 2
    ox, oy = -(cos * tx - sin * ty) + cx, -(sin * tx + cos * ty) + cy
    # in normalised coordinates (align_corners=False): pixel offset = normalised * size / 2
    theta = np.stack(
        [
            np.stack([cos * width / canvas_w, -sin * height / canvas_w, 2 * ox / canvas_w], axis=1),
            np.stack([sin * width / canvas_h, cos * height / canvas_h, 2 * oy / canvas_h], axis=1),
        ],
        axis=1,
    )  # (n, 2, 3)
    return torch.from_numpy(theta).float()


def _grid(theta: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``F.affine_grid(theta, (n, 1, height, width), align_corners=False)`` (n, H, W, 2) by
    broadcasting: the same numbers, three times faster on a CPU than its batched matmul."""
    xs = (torch.arange(width) * 2 + 1) / width - 1  # pixel centres in [-1, 1]
    ys = ((torch.arange(height) * 2 + 1) / height - 1)[:, None]
    t = theta[:, :, :, None, None]  # (n, 2, 3, 1, 1)
    return (t[:, :, 0] * xs + t[:, :, 1] * ys + t[:, :, 2]).permute(0, 2, 3, 1)  # (n, H, W, 2)


def _speckle(images: torch.Tensor, strength: np.ndarray, generator: torch.Generator) -> torch.Tensor:
    """Keras' speckle on images (n, 1, H, W): Gaussian noise times ``strength`` (n,), blurred
    with sigma 1 (scipy's ``gaussian_filter``, as Keras), added, clipped to [0, 1]."""
    from scipy.ndimage import gaussian_filter

    noise = torch.randn(images.shape, generator=generator).mul_(torch.from_numpy(strength).float()[:, None, None, None])
    noise = gaussian_filter(noise.numpy(), sigma=(0, 0, 1, 1), truncate=2.0)  # (n, 1, H, W), within each image
    return images.add_(torch.from_numpy(noise)).clamp_(0, 1)


# ----------------------------------------------------------------------------- the dataset
@register_dataset(
    "words",
    kind="image",
    expects="nothing (generated); options train=20000&test=2000&max_len=8&height=32&width=128",
    summary="random words rendered in the machine's fonts with rotation and speckle, for CTC OCR (Keras image_ocr)",
)
def load_words(
    path: Path | None = None, *, val_fraction: float = 0.1, seed: int = 0, download: bool = False
) -> Dataset:
    """Rendered words and their labels (see the module docstring)."""
    where, options = parse_spec_options(path, {key: int for key in LIMITS}, what="words")
    if where is not None:
        raise DataError(f"Dataset 'words' takes settings, not a path. Received: words:{path}")
    settings = {"train": 20_000, "test": 2_000, "max_len": 8, "height": 32, "width": 128} | options
    for key, (low, high) in LIMITS.items():
        if not low <= settings[key] <= high:
            raise invalid(key, f"an int in [{low}, {high}]", settings[key])
    n_train, n_test, max_len, height, width = (settings[k] for k in ("train", "test", "max_len", "height", "width"))
    if width < MIN_CHAR_WIDTH * max_len:
        raise invalid("width", f">= {MIN_CHAR_WIDTH} * max_len = {MIN_CHAR_WIDTH * max_len} pixels", width)
    # float32 images, and a chunk's canvases and noise besides
    limits.check_allocation((n_train + n_test) * (height * width * 4 + max_len * 8), f"{n_train + n_test} word images")
    fonts = find_fonts()
    splits = {}
    for name, n, split_seed in (("train", n_train, seed), ("test", n_test, TEST_SEED)):
        rng = np.random.default_rng([split_seed % 2**32, 1])
        words = random_words(n, max_len, rng)
        images = render_words(words, height=height, width=width, seed=int(rng.integers(2**31)), fonts=fonts)
        splits[name] = (images, encode_words(words, max_len))
    train, val = split_train_val(*splits["train"], val_fraction=val_fraction, seed=seed, stratify=False)
    return Dataset(
        name="words",
        kind="image",
        input_shape=(1, height, width),
        train=train,
        val=val,
        test=TensorDataset(*splits["test"]),
        classes=list(ALPHABET),
        task="ctc",
        info={
            "max_len": max_len,
            "height": height,
            "width": width,
            "alphabet": ALPHABET,
            "text": "white on black",
            "fonts": [Path(p).stem for p in fonts] or ["Pillow built-in (Aileron)"],
        },
    )
