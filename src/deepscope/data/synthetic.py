"""Synthetic sequence data: addition strings (Keras' addition_rnn) and moving-squares videos
(Keras' conv_lstm). Both are generated from a seed, so a spec always gives the same data.

- ``addition:digits=3&n=50000&reverse=1``: questions 'a+b' (each number has 1..digits
  digits) padded with spaces to 2*digits+1 characters, optionally reversed (Sutskever et
  al. 2014: reversing the input shortens the paths between the digits that add up); answers
  str(a+b) padded to digits+1. x (N, 2*digits+1) and y (N, digits+1) are character indices
  into ``classes`` (' ' is 0). ``n`` unique questions are split train/val (seeded); a further n/10
  unique questions from the same pool (fixed seed) form the test split.
- ``moving_squares:n=2000&frames=10&size=24``: white squares bouncing in a dark frame. x holds
  frames 0..T-1 and y frames 1..T, each (T, 1, size, size): predict every next frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from deepscope import limits
from deepscope.data.catalog import register_dataset
from deepscope.data.options import parse_spec_options
from deepscope.data.spec import Baseline, Dataset, split_train_val
from deepscope.errors import DataError, invalid

__all__ = [
    "ADDITION_CHARS",
    "addition_keys",
    "addition_problems",
    "copy_last_frame",
    "copy_last_frame_mse",
    "decode",
    "encode",
    "load_addition",
    "load_moving_squares",
    "moving_squares",
]

ADDITION_CHARS = " +0123456789"  # index 0 is the padding space, as sorted() orders Keras' chars
ADDITION_SEED = 7_919  # the questions depend only on digits and n; `seed` picks the val split


# ----------------------------------------------------------------------------- addition strings
def addition_problems(n: int, digits: int, rng: np.random.Generator, exclude: np.ndarray | None = None) -> np.ndarray:
    """``n`` unique pairs (n, 2) of numbers with a random count of 1..digits digits each;
    a+b and b+a count as one question (as in Keras). Pairs whose key min*10^digits + max is
    in ``exclude`` are skipped. Drawn in vectorised rounds; duplicates are dropped."""
    space = sum(9 * 10 ** (d - 1) for d in range(1, digits + 1)) + 1  # numbers with 1..digits digits
    taken = 0 if exclude is None else len(exclude)
    if n > space * (space + 1) // 2 - taken:
        raise invalid("n", f"at most the number of distinct {digits}-digit questions", n)
    keys = np.empty(0, dtype=np.int64) if exclude is None else np.asarray(exclude, dtype=np.int64)
    pairs = np.empty((0, 2), dtype=np.int64)
    while len(pairs) < n:
        k = 2 * (n - len(pairs)) + 16
        lengths = rng.integers(1, digits + 1, size=(k, 2))
        drawn = (rng.random((k, 2)) * 10.0**lengths).astype(np.int64)  # (k, 2)
        key = drawn.min(axis=1) * 10**digits + drawn.max(axis=1)
        _, first = np.unique(key, return_index=True)
        first = np.sort(first)  # keep the order of drawing
        fresh = first[~np.isin(key[first], keys)]
        pairs = np.concatenate([pairs, drawn[fresh]])[:n]
        keys = np.concatenate([keys, key[fresh]])
    return pairs


def addition_keys(pairs: np.ndarray, digits: int) -> np.ndarray:
    """One key per question, the same for a+b and b+a: (n,)."""
    return pairs.min(axis=1) * 10**digits + pairs.max(axis=1)


def encode(texts: list[str], width: int) -> torch.Tensor:
    """Strings of the addition alphabet -> character indices (N, width), right-padded with spaces."""
    table = np.zeros(256, dtype=np.int64)
    table[np.frombuffer(ADDITION_CHARS.encode(), dtype=np.uint8)] = np.arange(len(ADDITION_CHARS))
    raw = np.frombuffer("".join(t.ljust(width) for t in texts).encode("ascii"), dtype=np.uint8)
    return torch.from_numpy(table[raw].reshape(len(texts), width))


def decode(indices: torch.Tensor) -> list[str]:
    """Character indices (N, width) -> strings (padding kept)."""
    return ["".join(ADDITION_CHARS[i] for i in row) for row in indices.tolist()]


def _addition_tensors(pairs: np.ndarray, digits: int, reverse: bool) -> tuple[torch.Tensor, torch.Tensor]:
    width = 2 * digits + 1
    questions = [f"{a}+{b}".ljust(width) for a, b in pairs.tolist()]
    if reverse:
        questions = [q[::-1] for q in questions]
    answers = [str(a + b) for a, b in pairs.tolist()]
    return encode(questions, width), encode(answers, digits + 1)  # (N, 2d+1), (N, d+1)


@register_dataset(
    "addition",
    kind="sequence",
    expects="nothing (generated); options digits=3&n=50000&reverse=1, e.g. addition:digits=2",
    summary="'a+b' strings -> their sum, character by character (Keras addition_rnn), generated",
)
def load_addition(
    path: Path | None = None, *, val_fraction: float = 0.1, seed: int = 0, download: bool = False
) -> Dataset:
    """Addition questions and answers as character indices (see the module docstring)."""
    where, options = parse_spec_options(path, {"digits": int, "n": int, "reverse": int}, what="addition")
    if where is not None:
        raise DataError(f"Dataset 'addition' takes settings, not a path. Received: addition:{path}")
    digits, n, reverse = options.get("digits", 3), options.get("n", 50_000), bool(options.get("reverse", 1))
    if not 1 <= digits <= 9:
        raise invalid("digits", "an int in [1, 9]", digits)
    if n < 10:
        raise invalid("n", "an int >= 10", n)
    # pairs, keys, question/answer strings and index tensors: a few hundred bytes a question
    limits.check_allocation((n + n // 10 + 1) * 256, f"{n} addition questions")
    # One pool of unique questions, drawn with a fixed seed, and a fixed random tenth of it as
    # the test split: test questions follow the training distribution (drawing them apart
    # would hand the test split most of the few 1- and 2-digit questions). `seed` picks val.
    pool = addition_problems(n + max(n // 10, 1), digits, np.random.default_rng(ADDITION_SEED + digits))
    order = np.random.default_rng(ADDITION_SEED).permutation(len(pool))
    test_pairs, pairs = pool[np.sort(order[: len(pool) - n])], pool[np.sort(order[len(pool) - n :])]
    x, y = _addition_tensors(pairs, digits, reverse)
    train, val = split_train_val(x, y, val_fraction=val_fraction, seed=seed, stratify=False)
    test = TensorDataset(*_addition_tensors(test_pairs, digits, reverse))
    return Dataset(
        name=f"addition{digits}",
        kind="sequence",
        input_shape=(2 * digits + 1,),
        train=train,
        val=val,
        test=test,
        classes=list(ADDITION_CHARS),
        task="seq2seq",
        info={"digits": digits, "n": n, "reversed": reverse, "vocabulary": ADDITION_CHARS},
    )


# ----------------------------------------------------------------------------- moving squares
def moving_squares(
    n: int,
    *,
    frames: int = 10,
    size: int = 24,
    squares: tuple[int, int] = (2, 4),
    side: tuple[int, int] = (3, 6),
    seed: int = 0,
) -> torch.Tensor:
    """``n`` videos of ``frames`` frames (N, frames, 1, size, size) in {0, 1}: each has 2-3
    (``squares``) squares of side 3-5 (``side``) moving at 1-2 pixels per frame along each
    axis and bouncing off the edges. Rendered for all videos at once (no per-frame loop)."""
    if size < side[1] + 2:
        raise invalid("size", f"an int >= {side[1] + 2}", size)
    rng = np.random.default_rng(seed)
    k = squares[1] - 1  # most squares per video; unused slots are switched off
    active = np.arange(k)[None, :] < rng.integers(squares[0], squares[1], size=(n, 1))  # (N, k)
    s = rng.integers(side[0], side[1], size=(n, k))  # (N, k) side lengths
    room = size - s  # positions 0..room keep the square inside
    start = rng.random((n, k, 2)) * room[..., None]  # (N, k, 2)
    speed = rng.choice([-2, -1, 1, 2], size=(n, k, 2))
    t = np.arange(frames)[None, None, :, None]  # (1, 1, T, 1)
    raw = start[:, :, None, :] + speed[:, :, None, :] * t  # (N, k, T, 2) unbounded path
    edge = room[:, :, None, None]  # (N, k, 1, 1)
    folded = raw % (2 * edge)  # bouncing = reflecting the unbounded path into [0, room]
    pos = np.rint(np.where(folded > edge, 2 * edge - folded, folded)).astype(int)  # (N, k, T, 2)
    pixels = np.arange(size)
    rows = (pixels >= pos[..., 0:1]) & (pixels < pos[..., 0:1] + s[:, :, None, None])  # (N, k, T, size)
    cols = (pixels >= pos[..., 1:2]) & (pixels < pos[..., 1:2] + s[:, :, None, None])
    video = (rows[..., :, None] & cols[..., None, :] & active[:, :, None, None, None]).any(axis=1)  # (N, T, H, W)
    return torch.from_numpy(video.astype(np.float32))[:, :, None]  # (N, T, 1, H, W)


def copy_last_frame(x: torch.Tensor) -> torch.Tensor:
    """The copy-the-last-frame forecast of videos x (N, T, C, H, W): frame t+1 (y[:, t]) is
    predicted as frame t (x[:, t]), so the prediction is x itself."""
    return x.clone()


def copy_last_frame_mse(x: torch.Tensor, y: torch.Tensor) -> float:
    """MSE of the copy-the-last-frame forecast: predicting frame t+1 (y[:, t]) as frame t (x[:, t])."""
    return float(((y - copy_last_frame(x)) ** 2).mean())


@register_dataset(
    "moving_squares",
    kind="sequence",
    expects="nothing (generated); options n=2000&frames=10&size=24",
    summary="videos of bouncing squares, predict each next frame (Keras conv_lstm), generated",
)
def load_moving_squares(
    path: Path | None = None, *, val_fraction: float = 0.1, seed: int = 0, download: bool = False
) -> Dataset:
    """Next-frame prediction: x = frames 0..T-1, y = frames 1..T, each (T, 1, size, size);
    10% more videos from a fixed seed form the test split."""
    where, options = parse_spec_options(path, {"n": int, "frames": int, "size": int}, what="moving_squares")
    if where is not None:
        raise DataError(f"Dataset 'moving_squares' takes settings, not a path. Received: moving_squares:{path}")
    n, frames, size = options.get("n", 2000), options.get("frames", 10), options.get("size", 24)
    if n < 2 or frames < 2:
        raise invalid("n" if n < 2 else "frames", "an int >= 2", min(n, frames))
    if size < 1:
        raise invalid("size", "a positive int", size)
    # rendering holds ~4 bytes a pixel per square slot, then float32 videos and the x/y copies
    limits.check_allocation(
        (n + n // 10 + 1) * (frames + 1) * size * size * 24,
        f"{n} moving-squares videos of {frames} {size}x{size} frames",
    )
    videos = moving_squares(n, frames=frames + 1, size=size, seed=seed)  # (N, T+1, 1, H, W)
    test_videos = moving_squares(max(n // 10, 1), frames=frames + 1, size=size, seed=10_007)
    train, val = split_train_val(videos[:, :-1], videos[:, 1:], val_fraction=val_fraction, seed=seed, stratify=False)
    test = TensorDataset(test_videos[:, :-1], test_videos[:, 1:])
    x, y = test.tensors
    return Dataset(
        name="moving_squares",
        kind="sequence",
        input_shape=(frames, 1, size, size),
        train=train,
        val=val,
        test=test,
        classes=None,
        task="regression",
        baseline=Baseline("copy the last frame", copy_last_frame),
        info={"frames": frames, "size": size, "test_copy_last_frame_mse": copy_last_frame_mse(x, y)},
    )
