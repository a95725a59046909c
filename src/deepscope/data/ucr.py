"""UCR/UEA time-series classification sets: the ones aeon ships (``ucr:GunPoint``) and the
user's own ``.ts`` / ``.tsv`` / ``.arff`` files (``ucr:PATH``).

aeon reads the three formats (univariate and multivariate, equal and unequal length, '?' or
NaN for missing values); this module turns them into one (N, C, T) float tensor per split:

- missing values are filled by linear interpolation along time (the nearest value at the
  ends); a channel with no value at all becomes zeros;
- unequal lengths are resampled (linear interpolation) to the longest training series, as
  Fawaz et al. 2019 did for the UEA archive, so conv nets and RNNs see one shape; the
  ``length=pad`` option zero-pads at the end instead (pair it with ``Recurrent(mask_value=0)``);
- values are z-normalised: univariate series each on its own (mean 0, std 1), as in the UCR
  literature; multivariate series per channel with the training set's mean and std, which
  keeps the level of each channel (per-series normalisation erases what tells speakers
  apart in JapaneseVowels). ``norm=series|channel|none`` chooses explicitly.

In the UCR 2018 ``.tsv`` files, NaNs after the last value pad shorter series; they mark the
series' end, not missing values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import TensorDataset

from deepscope.data.catalog import register_dataset
from deepscope.data.options import parse_spec_options
from deepscope.data.spec import Dataset, split_train_val
from deepscope.errors import DataError, UnknownNameError, invalid

__all__ = [
    "FORMATS",
    "aeon_data_dir",
    "channel_stats",
    "load_ucr",
    "prepare_series",
    "read_series",
    "read_ucr_file",
    "shipped_sets",
]

FORMATS = (".ts", ".arff", ".tsv")  # preference order when a folder holds several
LENGTHS = ("resample", "pad")
NORMS = ("auto", "series", "channel", "none")


def _aeon_datasets():
    try:
        import aeon.datasets
    except ImportError:
        raise DataError("Reading UCR/UEA files needs aeon: pip install 'deepscope[series]'.") from None
    return aeon.datasets


def aeon_data_dir() -> Path:
    """The folder of data files aeon ships, found without importing aeon (which is slow)."""
    import importlib.util

    spec = importlib.util.find_spec("aeon")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("The UCR/UEA sets and series that aeon ships need aeon: pip install 'deepscope[series]'.")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"


def shipped_sets() -> list[str]:
    """Names of the classification sets the installed aeon ships (readable offline)."""
    try:
        root = aeon_data_dir()
    except DataError:
        return []
    names = []
    for folder in sorted(root.iterdir()):
        train = folder / f"{folder.name}_TRAIN.ts"
        if train.is_file() and _has_class_labels(train):
            names.append(folder.name)
    return names


def _has_class_labels(path: Path) -> bool:
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            low = line.strip().lower()
            if low.startswith("@classlabel"):
                return low.split()[1:2] == ["true"]
            if low.startswith("@data"):
                return False
    return False


# ----------------------------------------------------------------------------- reading files
def read_ucr_file(path: str | Path) -> tuple[list[np.ndarray], np.ndarray]:
    """Read one .ts/.tsv/.arff file: a list of (C, T_i) float arrays (NaN where missing) and
    the label strings (N,)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"UCR file {path} does not exist.")
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise invalid("path", f"a UCR file ending in {', '.join(FORMATS)}", str(path))
    aeon = _aeon_datasets()
    try:
        if suffix == ".ts":
            x, y = aeon.load_from_ts_file(str(path))
        elif suffix == ".arff":
            x, y = aeon.load_from_arff_file(str(path))
        else:
            x, y = aeon.load_from_tsv_file(str(path))
    except Exception as error:  # aeon raises IOError/ValueError/IndexError on malformed files
        raise DataError(f"Cannot read UCR file {path}: {error}") from error
    series = [np.asarray(s, dtype=np.float64).reshape(-1, np.shape(s)[-1]) for s in x]  # each (C, T_i)
    if suffix == ".tsv":
        series = [_strip_trailing_nan(s) for s in series]
    if not series:
        raise DataError(f"UCR file {path} holds no series.")
    return series, np.array([_label(v) for v in y], dtype=object)


def _strip_trailing_nan(s: np.ndarray) -> np.ndarray:
    """UCR 2018 .tsv files pad shorter series with NaN: cut the padding off (C, T) -> (C, T_i)."""
    valid = ~np.isnan(s).all(axis=0)
    end = int(np.flatnonzero(valid)[-1]) + 1 if valid.any() else 1
    return s[:, :end]


def _label(value: Any) -> str:
    """Labels as strings; numeric labels canonical ('1', '1.0' and 1 are the same class)."""
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() else repr(number)


def _class_order(labels: Sequence[str]) -> list[str]:
    unique = sorted(set(labels))
    try:
        return sorted(unique, key=float)
    except ValueError:
        return unique


# ----------------------------------------------------------------------------- preprocessing
def fill_missing(s: np.ndarray) -> np.ndarray:
    """Fill NaNs of one series (C, T) by linear interpolation along time (nearest value at
    the ends); an all-NaN channel becomes zeros."""
    s = s.copy()
    for row in s:  # only channels with gaps; series are short and loading happens once
        gaps = np.isnan(row)
        if gaps.all():
            row[:] = 0.0
        elif gaps.any():
            t = np.arange(len(row))
            row[gaps] = np.interp(t[gaps], t[~gaps], row[~gaps])
    return s


def channel_stats(series: Sequence[np.ndarray]) -> tuple[list[float], list[float]]:
    """Mean and std of each channel over every step of every series (missing values filled)."""
    values = np.concatenate([fill_missing(s) for s in series], axis=1)  # (C, sum of T_i)
    std = values.std(axis=1)
    return values.mean(axis=1).tolist(), np.where(std > 1e-8, std, 1.0).tolist()


def prepare_series(
    series: Sequence[np.ndarray],
    length: int,
    *,
    mode: str = "resample",
    norm: str = "series",
    stats: tuple[Sequence[float], Sequence[float]] | None = None,
) -> torch.Tensor:
    """Missing values filled, every series brought to ``length`` steps and normalised: a list
    of (C, T_i) arrays -> (N, C, length) float32. ``norm`` is 'series' (each series and
    channel to mean 0, std 1), 'channel' (each channel with ``stats`` = (means, stds), e.g.
    the training set's) or 'none'."""
    if mode not in LENGTHS:
        raise invalid("length", f"one of {LENGTHS}", mode)
    if norm not in NORMS[1:]:
        raise invalid("norm", f"one of {NORMS[1:]}", norm)
    if norm == "channel" and stats is None:
        raise invalid("stats", "the (means, stds) of each channel for norm='channel'", stats)
    channels = {s.shape[0] for s in series}
    if len(channels) != 1:
        raise DataError(
            f"All series must have the same number of channels. Received: channel counts {sorted(channels)}."
        )
    out = torch.zeros(len(series), channels.pop(), length, dtype=torch.float64)  # (N, C, length)
    filled = [fill_missing(s) for s in series]
    by_length: dict[int, list[int]] = {}
    for i, s in enumerate(filled):
        by_length.setdefault(s.shape[1], []).append(i)
    for steps, idx in by_length.items():  # one batched call per distinct length
        batch = torch.from_numpy(np.stack([filled[i] for i in idx]))  # (n, C, steps)
        if mode == "pad" and steps > length:
            raise DataError(f"A series has {steps} steps, more than the padded length {length}.")
        if mode == "resample" and steps != length:
            batch = (
                batch.expand(-1, -1, length)
                if steps == 1
                else F.interpolate(batch, size=length, mode="linear", align_corners=True)
            )  # (n, C, length)
        if norm == "series":
            batch = _znorm(batch)
        elif norm == "channel":
            mean, std = (torch.tensor(v, dtype=batch.dtype)[:, None] for v in stats)  # (C, 1) each
            batch = (batch - mean) / std
        out[idx, :, : batch.shape[-1]] = batch  # 'pad': zeros stay after the end
    return out.float()


def _znorm(x: torch.Tensor) -> torch.Tensor:
    """Per-series, per-channel z-normalisation of (N, C, T); constant channels become 0."""
    mean = x.mean(dim=-1, keepdim=True)
    std = x.std(dim=-1, keepdim=True, unbiased=False)
    return (x - mean) / torch.where(std > 1e-8, std, torch.ones_like(std))


# ----------------------------------------------------------------------------- the loader
def _find_pair(path: Path) -> tuple[Path, Path]:
    """The TRAIN and TEST files for a folder, a NAME_TRAIN.* file or a shipped set folder."""
    if path.is_file():
        stem = path.stem
        if not stem.upper().endswith("_TRAIN"):
            raise DataError(
                f"UCR file {path} must be named NAME_TRAIN{path.suffix} (with NAME_TEST{path.suffix} beside it)."
            )
        test = path.with_name(stem[: -len("_TRAIN")] + "_TEST" + path.suffix)
        if not test.is_file():
            raise DataError(f"UCR test file {test} is missing (expected beside {path.name}).")
        return path, test
    for suffix in FORMATS:
        trains = sorted(p for p in path.glob(f"*_TRAIN{suffix}") if not p.name.endswith(f"_eq_TRAIN{suffix}"))
        for train in trains:
            test = train.with_name(train.name.replace("_TRAIN", "_TEST"))
            if test.is_file():
                return train, test
    raise DataError(f"Folder {path} holds no UCR pair NAME_TRAIN.ts/.arff/.tsv + NAME_TEST.ts/.arff/.tsv.")


def _resolve(where: Path, download: bool) -> tuple[Path, Path, str]:
    if where.exists():
        train, test = _find_pair(where)
        return train, test, str(where)
    name = str(where)
    shipped = shipped_sets()
    if name in shipped:
        folder = aeon_data_dir() / name
        return folder / f"{name}_TRAIN.ts", folder / f"{name}_TEST.ts", f"aeon (shipped): {name}"
    if "/" not in name and "\\" not in name and download:
        from deepscope.data.download import cache_dir

        target = cache_dir("ucr")
        try:
            _aeon_datasets().load_classification(name, extract_path=str(target))
        except Exception as error:
            raise DataError(f"Could not download UCR/UEA set {name!r}: {error}") from error
        train, test = _find_pair(target / name)
        return train, test, f"downloaded (aeon) into {target / name}"
    if "/" not in name and "\\" not in name:
        raise UnknownNameError(
            "UCR/UEA set (not a file either; pass --download to fetch a set aeon does not ship)", name, shipped
        )
    raise DataError(f"UCR path {where} does not exist.")


@register_dataset(
    "ucr",
    kind="series",
    needs_path=True,
    expects="a shipped set name (e.g. GunPoint, see `deepscope datasets --check ucr:GunPoint`) or a folder/file with "
    "NAME_TRAIN and NAME_TEST .ts/.tsv/.arff files; options ?length=resample|pad&norm=auto|series|channel|none",
    summary="UCR/UEA time-series classification (aeon's shipped sets offline, or your files), z-normalised",
)
def load_ucr(path: Path | None, *, val_fraction: float = 0.1, seed: int = 0, download: bool = False) -> Dataset:
    """A UCR/UEA classification set as (N, C, T) series with the archive's own train/test
    split; validation is carved from train with ``seed`` (stratified)."""
    where, options = parse_spec_options(path, {"length": str, "norm": str}, what="ucr")
    if where is None:
        raise DataError("Dataset 'ucr' needs a set name or path: 'ucr:GunPoint' or 'ucr:PATH'.")
    mode, norm = options.get("length", "resample"), options.get("norm", "auto")
    if mode not in LENGTHS:
        raise invalid("length", f"one of {LENGTHS}", mode)
    if norm not in NORMS:
        raise invalid("norm", f"one of {NORMS}", norm)
    train_file, test_file, source = _resolve(where, download)
    x_train, labels_train = read_ucr_file(train_file)
    x_test, labels_test = read_ucr_file(test_file)
    classes = _class_order(labels_train)
    unseen = sorted(set(labels_test) - set(classes))
    if unseen:
        raise DataError(f"{test_file} has labels that never occur in {train_file.name}: {unseen[:5]}.")
    lengths = [s.shape[1] for s in x_train]
    length = max(lengths)
    equal = len(set(lengths + [s.shape[1] for s in x_test])) == 1
    missing = int(sum(np.isnan(s).sum() for s in [*x_train, *x_test]))
    index = {c: i for i, c in enumerate(classes)}
    if mode == "pad":  # padding cannot shorten: room for the longest series of either split
        length = max(length, *(s.shape[1] for s in x_test))
    if norm == "auto":
        norm = "series" if x_train[0].shape[0] == 1 else "channel"
    stats = channel_stats(x_train) if norm == "channel" else None  # training statistics only
    preprocess = {
        "length": mode,
        "norm": norm,
        "steps": length,
        **({"mean": stats[0], "std": stats[1]} if stats else {}),
    }
    xt = prepare_series(x_train, length, mode=mode, norm=norm, stats=stats)  # (N, C, T)
    xs = prepare_series(x_test, length, mode=mode, norm=norm, stats=stats)
    yt = torch.tensor([index[c] for c in labels_train], dtype=torch.long)
    ys = torch.tensor([index[c] for c in labels_test], dtype=torch.long)
    train, val = split_train_val(xt, yt, val_fraction=val_fraction, seed=seed)
    name = train_file.stem[: -len("_TRAIN")]
    info = {
        "source": source,
        "length": "equal"
        if equal
        else (
            f"resampled to {length} (longest training series)"
            if mode == "resample"
            else f"zero-padded at the end to {length}"
        ),
        "preprocess": preprocess,
        "missing_values_filled": missing,
    }
    return Dataset(
        name=name,
        kind="series",
        input_shape=tuple(xt.shape[1:]),
        train=train,
        val=val,
        test=TensorDataset(xs, ys),
        classes=classes,
        info=info,
    )


# ----------------------------------------------------------------------------- prediction input
def read_series(
    path: str | Path, in_shape: tuple[int, int], preprocess: Mapping[str, Any] | None = None
) -> torch.Tensor:
    """Series to predict on, prepared as at training time: (N, C, T) for ``in_shape`` (C, T).
    ``preprocess`` is the training data's ``info["preprocess"]`` (default: resample, and
    per-series z-normalisation).

    ``.ts/.tsv/.arff`` files are read as UCR files (labels, if any, ignored); a ``.csv`` file
    holds one series per row, C*T values channel after channel (empty cells or NaN for
    missing values; a univariate row may have any length, it is resampled)."""
    path = Path(path)
    channels, steps = in_shape
    if path.suffix.lower() in FORMATS:
        series, _ = read_ucr_file(path)
    elif path.suffix.lower() == ".csv":
        series = _read_csv_rows(path, channels)
    else:
        raise invalid("file", f"a series file ending in .csv, {', '.join(FORMATS)}", str(path))
    wrong = [s.shape[0] for s in series if s.shape[0] != channels]
    if wrong:
        raise DataError(f"{path} holds series with {wrong[0]} channel(s); the model expects {channels}.")
    prep = dict(preprocess or {})
    stats = (prep["mean"], prep["std"]) if prep.get("norm") == "channel" else None
    return prepare_series(
        series, steps, mode=prep.get("length", "resample"), norm=prep.get("norm", "series"), stats=stats
    )


def _read_csv_rows(path: Path, channels: int) -> list[np.ndarray]:
    series = []
    text = path.read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), start=1):
        cells = [c.strip() for c in line.split(",")]
        if not any(cells):
            continue
        try:
            values = np.array([float(c) if c else np.nan for c in cells])
        except ValueError:
            if number == 1:  # a header row
                continue
            raise DataError(
                f"{path}, line {number}: every cell must be a number (or empty). Received: {line[:60]!r}"
            ) from None
        if len(values) % channels:
            raise DataError(f"{path}, line {number}: {len(values)} values do not split into {channels} channels.")
        series.append(_strip_trailing_nan(values.reshape(channels, -1)))
    if not series:
        raise DataError(f"{path} holds no series (one comma-separated row of numbers per series).")
    return series
