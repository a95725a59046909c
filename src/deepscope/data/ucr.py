"""UCR/UEA time-series classification sets: the ones aeon ships (``ucr:GunPoint``) and the
user's own ``.ts`` / ``.tsv`` / ``.arff`` files (``ucr:PATH``).

The three formats (univariate and multivariate, equal and unequal length, '?' or NaN for
missing values) are parsed here, not by aeon's readers: a file may be hostile, and aeon's
readers can neither be bounded in memory and time nor say which line is wrong (they accept
``1e400`` as inf and end in tracebacks). The parser reads a regular file under the text cap,
checks every line against the header and the memory cap, and reads every ``.ts`` file aeon
ships as aeon does (slow test in ``tests/data/test_ucr.py``). aeon still provides the shipped sets and
``--download``. This module turns the series into one (N, C, T) float tensor per split:

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

import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import TensorDataset

from deepscope import limits
from deepscope.data.catalog import register_dataset
from deepscope.data.options import parse_spec_options
from deepscope.data.spec import Dataset, split_train_val
from deepscope.data.text import read_text_file
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
    the label strings (N,) (empty when the file holds no labels).

    The file must be a regular UTF-8 file within the text cap. Every value must be a number
    within float32 range or a missing-value mark ('?', NaN; an empty .tsv cell): '1e400'
    (infinite) is refused, naming the file and line, as are non-finite labels, series with
    no values, and lines that contradict the header (@dimensions, @seriesLength,
    @equalLength, @univariate) or the first series' channel count. Labels of .ts files are
    lower-cased, as aeon reads them; numeric labels are canonical ('1.0' is '1')."""
    series, labels, _ = _read_ucr(Path(path))
    return series, labels


def _read_ucr(path: Path) -> tuple[list[np.ndarray], np.ndarray, str]:
    """(series, labels, target): target is 'class', 'value' (regression: @targetLabel true)
    or 'none' (no labels in the file)."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise invalid("path", f"a UCR file ending in {', '.join(FORMATS)}", str(path))
    reader = _Reader(path)
    text = read_text_file(path, "UCR file")
    target = {".ts": reader.parse_ts, ".arff": reader.parse_arff, ".tsv": reader.parse_tsv}[suffix](text)
    if not reader.series:
        raise DataError(f"UCR file {path} holds no series.")
    return reader.series, np.array(reader.labels, dtype=object), target


_FLOAT32_MAX = float(np.finfo(np.float32).max)
_TS_BOOLEANS = ("timestamps", "missing", "univariate", "equallength", "targetlabel")


class _Reader:
    """Parses one UCR file's text into ``series`` (each (C, T_i) float64) and ``labels``,
    checking every line as it goes and the memory the values take against the cap."""

    def __init__(self, path: Path):
        self.path = path
        self.series: list[np.ndarray] = []
        self.labels: list[str] = []
        self.cap = limits.current().memory
        self.values = 0

    def error(self, line_no: int, message: str) -> DataError:
        return DataError(f"{self.path}, line {line_no}: {message}")

    def numbers(self, tokens: list[str], line_no: int, *, empty_is_missing: bool = False) -> np.ndarray:
        """Values of one channel: '?' and NaN are missing (NaN); anything that is not a
        finite float32-range number is refused, naming the line."""
        cleaned = []
        for token in tokens:
            t = token.strip()
            if t == "?" or (not t and empty_is_missing):
                t = "nan"
            cleaned.append(t)
        try:
            values = np.array(cleaned, dtype=np.float64)
        except ValueError:
            bad = next((t for t in cleaned if not _is_number(t)), cleaned[0])
            raise self.error(
                line_no, f"every value must be a number, or '?'/NaN where missing. Received: {bad[:40]!r}"
            ) from None
        huge = np.abs(values) > _FLOAT32_MAX  # inf (e.g. '1e400') too; NaN compares False
        if huge.any():
            bad = cleaned[int(np.flatnonzero(huge)[0])]
            raise self.error(
                line_no, f"values must be finite numbers within float32 range (±3.4e38). Received: {bad[:40]!r}"
            )
        return values

    def label(self, raw: str, line_no: int, *, lower: bool = False) -> str:
        """A class label as a canonical string; empty and non-finite labels are refused."""
        text = raw.strip().strip("'\"").strip()
        text = text.lower() if lower else text
        if not text:
            raise self.error(line_no, "the class label is empty.")
        try:
            number = float(text)
        except ValueError:
            return text
        if not math.isfinite(number):
            raise self.error(line_no, f"the class label must be a name or a finite number. Received: {text[:40]!r}")
        return str(int(number)) if number.is_integer() else repr(number)

    def add(self, s: np.ndarray, label: str | None, line_no: int) -> None:
        if s.shape[1] == 0:
            raise self.error(line_no, "the series holds no values.")
        self.values += s.size
        if self.values * 8 > self.cap:
            limits.check_allocation(self.values * 8, f"The series of UCR file {self.path}")
        self.series.append(s)
        if label is not None:
            self.labels.append(label)

    def channels(self, texts: list[str], line_no: int, **kwargs: Any) -> np.ndarray:
        """Channels given as comma-separated texts -> (C, T), every channel the same length."""
        arrays = []
        for k, text in enumerate(texts):
            if not text.strip():
                raise self.error(line_no, f"channel {k + 1} holds no values.")
            arrays.append(self.numbers(text.split(","), line_no, **kwargs))
        lengths = sorted({len(a) for a in arrays})
        if len(lengths) > 1:
            raise self.error(line_no, f"the channels of one series must have one length. Received: lengths {lengths}.")
        return np.stack(arrays)  # (C, T)

    # ---------------------------------------------------------------- .ts
    def parse_ts(self, text: str) -> str:
        lines = text.split("\n")
        meta: dict[str, Any] = {"classlabel": True, "targetlabel": False, "timestamps": False}
        data_at = None
        for i, raw in enumerate(lines):
            line = raw.strip()
            if not line or line[0] in "#%":
                continue
            if line[0] != "@":
                raise self.error(
                    i + 1, f"expected a header tag (such as @classLabel) or @data. Received: {line[:60]!r}"
                )
            words = line[1:].split(None, 1)
            tag, value = words[0].lower() if words else "", words[1].strip() if len(words) > 1 else ""
            if tag == "data":
                if value:
                    raise self.error(i + 1, f"the @data tag takes no value. Received: {line[:60]!r}")
                data_at = i + 1
                break
            if tag in _TS_BOOLEANS or tag == "classlabel":
                first = value.split()[0].lower() if value else ""
                if first not in ("true", "false"):
                    raise self.error(i + 1, f"`@{words[0]}` must be true or false. Received: {value[:40]!r}")
                meta[tag] = first == "true"
            elif tag in ("dimensions", "serieslength"):
                if not (value.isascii() and value.isdigit() and 0 < len(value) <= 12 and int(value) > 0):
                    raise self.error(i + 1, f"`@{words[0]}` must be a positive int. Received: {value[:40]!r}")
                meta[tag] = int(value)
        if data_at is None:
            raise DataError(f"UCR file {self.path} has no @data line (the series follow it).")
        if "dimensions" in meta and "serieslength" in meta:  # what the header promises, bounded before any read
            limits.check_allocation(
                meta["dimensions"] * meta["serieslength"] * 8,
                f"One series of UCR file {self.path} (@dimensions {meta['dimensions']}, "
                f"@seriesLength {meta['serieslength']})",
            )
        has_target = meta["classlabel"] or meta["targetlabel"]
        first: tuple[int, int] | None = None  # (channels, length) of the first series
        for i in range(data_at, len(lines)):
            line = lines[i].strip()
            if not line or line[0] == "#":
                continue
            line_no = i + 1
            if meta["timestamps"]:
                texts, label = self._timestamped(line, has_target, line_no)
            else:
                parts = line.split(":")
                if has_target and len(parts) < 2:
                    raise self.error(line_no, "expected the series' channels, then ':' and its label.")
                texts, label = (parts[:-1], parts[-1]) if has_target else (parts, None)
            s = self.channels(texts, line_no)
            c, t = s.shape
            first = first or (c, t)
            if c != first[0]:
                raise self.error(line_no, f"the series has {c} channel(s), the first series {first[0]}.")
            if meta.get("dimensions", c) != c:
                raise self.error(
                    line_no, f"the series has {c} channel(s); the header declares @dimensions {meta['dimensions']}."
                )
            if meta.get("univariate") and c > 1:
                raise self.error(line_no, f"the series has {c} channels; the header declares @univariate true.")
            if meta.get("equallength"):
                expected = meta.get("serieslength", first[1])
                if t != expected:
                    raise self.error(
                        line_no, f"the series has {t} values; the header declares equal lengths of {expected}."
                    )
            self.add(s, None if label is None else self.label(label, line_no, lower=True), line_no)
        return "value" if meta["targetlabel"] else ("class" if meta["classlabel"] else "none")

    def _timestamped(self, line: str, has_target: bool, line_no: int) -> tuple[list[str], str | None]:
        """'(time,value),(time,value):(time,value),...:label' -> the channels' values, the label."""
        end = line.rfind(")")
        if end < 0:
            raise self.error(line_no, "expected (timestamp,value) pairs (@timeStamps true).")
        body, rest = line[: end + 1], line[end + 1 :].strip()
        if has_target and not rest.startswith(":"):
            raise self.error(line_no, "expected the series' channels, then ':' and its label.")
        if not has_target and rest:
            raise self.error(line_no, f"unexpected text after the last channel: {rest[:40]!r}")
        texts = []
        for channel in re.split(r"(?<=\))\s*:\s*(?=\()", body):
            pairs = re.findall(r"\(([^()]*)\)", channel)
            texts.append(",".join(p.rsplit(",", 1)[-1] for p in pairs))
        return texts, (rest[1:] if has_target else None)

    # ---------------------------------------------------------------- .arff
    def parse_arff(self, text: str) -> str:
        lines = text.split("\n")
        declared, relational, inside, data_at = 0, False, False, None
        for i, raw in enumerate(lines):
            line = raw.strip()
            low = line.lower()
            if not line or line[0] == "%":
                continue
            if low.startswith("@data"):
                data_at = i + 1
                break
            if low.startswith("@attribute"):
                words = line.split()
                if not inside and len(words) >= 3 and words[2].lower() == "relational":
                    relational = inside = True
                elif not inside:
                    declared += 1  # top-level attributes: the values, then the class
            elif low.startswith("@end"):
                inside = False
        if data_at is None:
            raise DataError(f"UCR file {self.path} has no @data line (the series follow it).")
        length = declared - 1 if not relational and declared > 1 else None  # the values before the class
        first: tuple[int, int] | None = None
        for i in range(data_at, len(lines)):
            line = lines[i].strip()
            if not line or line[0] == "%":
                continue
            line_no = i + 1
            if relational:  # 'v,v,v\nv,v,v',label: channels separated by a literal backslash-n
                quote, end = line[0], line.rfind(line[0])
                rest = line[end + 1 :].strip()
                if quote not in "'\"" or end == 0 or not rest.startswith(","):
                    raise self.error(line_no, "expected a quoted series ('v,v,...\\nv,v,...') then ',' and its label.")
                s, label = self.channels(line[1:end].split("\\n"), line_no), rest[1:]
            else:
                parts = line.split(",")
                if len(parts) < 2:
                    raise self.error(line_no, "expected the series' values, then ',' and its label.")
                if length is not None and len(parts) - 1 != length:
                    raise self.error(
                        line_no, f"the series has {len(parts) - 1} values; the header declares {length} attributes."
                    )
                s, label = self.numbers(parts[:-1], line_no)[None, :], parts[-1]
            first = first or s.shape
            if s.shape != first:
                raise self.error(
                    line_no, f"the series has shape {s.shape} (channels, steps); the first series {first}."
                )
            self.add(s, self.label(label, line_no), line_no)
        return "class"

    # ---------------------------------------------------------------- .tsv
    def parse_tsv(self, text: str) -> str:
        """UCR 2018 layout: the label, then the values, tab-separated; NaNs after the last
        value pad a shorter series (they are cut off), NaNs inside it are missing."""
        for i, raw in enumerate(text.split("\n")):
            line = raw.strip()
            if not line:
                continue
            fields = line.split("\t")
            values = self.numbers(fields[1:], i + 1, empty_is_missing=True)
            if not len(values):
                raise self.error(i + 1, "expected a label, then the series' values, tab-separated.")
            self.add(_strip_trailing_nan(values[None, :]), self.label(fields[0], i + 1), i + 1)
        return "class"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _strip_trailing_nan(s: np.ndarray) -> np.ndarray:
    """UCR 2018 .tsv files pad shorter series with NaN: cut the padding off (C, T) -> (C, T_i)."""
    valid = ~np.isnan(s).all(axis=0)
    end = int(np.flatnonzero(valid)[-1]) + 1 if valid.any() else 1
    return s[:, :end]


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
    c = channels.pop()
    if stats is not None and not all(len(v) == c for v in stats):
        raise invalid("stats", f"the means and stds of {c} channel(s)", stats)
    # float64 result + float32 copy + one batch, at most: refused before anything is allocated
    limits.check_allocation(len(series) * c * length * 20, f"{len(series)} series of {c} channel(s) x {length} steps")
    out = torch.zeros(len(series), c, length, dtype=torch.float64)  # (N, C, length)
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
    if not path.is_dir():  # a file (a FIFO or a device is refused when read, by name)
        stem = path.stem
        if not stem.upper().endswith("_TRAIN"):
            raise DataError(
                f"UCR file {path} must be named NAME_TRAIN{path.suffix} (with NAME_TEST{path.suffix} beside it)."
            )
        test = path.with_name(stem[: -len("_TRAIN")] + "_TEST" + path.suffix)
        if not os.path.lexists(test):
            raise DataError(f"UCR test file {test} is missing (expected beside {path.name}).")
        return path, test
    for suffix in FORMATS:
        trains = sorted(p for p in path.glob(f"*_TRAIN{suffix}") if not p.name.endswith(f"_eq_TRAIN{suffix}"))
        for train in trains:
            test = train.with_name(train.name.replace("_TRAIN", "_TEST"))
            if os.path.lexists(test):
                return train, test
    raise DataError(f"Folder {path} holds no UCR pair NAME_TRAIN.ts/.arff/.tsv + NAME_TEST.ts/.arff/.tsv.")


def _resolve(where: Path, download: bool) -> tuple[Path, Path, str]:
    if os.path.lexists(where):
        train, test = _find_pair(where)
        return train, test, str(where)
    name = str(where)
    is_name = "/" not in name and "\\" not in name
    try:
        aeon_data_dir()
    except DataError:
        if not is_name:
            raise DataError(f"UCR path {where} does not exist.") from None
        raise DataError(
            f"UCR/UEA set {name!r} is not a file or folder here, and the sets that ship with aeon (GunPoint, "
            f"ItalyPowerDemand, BasicMotions, ...) need it: pip install 'deepscope[series]'. "
            f"Your own files need no extra: ucr:PATH to NAME_TRAIN.ts/.arff/.tsv."
        ) from None
    shipped = shipped_sets()
    if name in shipped:
        folder = aeon_data_dir() / name
        return folder / f"{name}_TRAIN.ts", folder / f"{name}_TEST.ts", f"aeon (shipped): {name}"
    if is_name and download:
        from deepscope.data.download import cache_dir

        target = cache_dir("ucr")
        try:
            _aeon_datasets().load_classification(name, extract_path=str(target))
        except Exception as error:
            raise DataError(f"Could not download UCR/UEA set {name!r}: {error}") from error
        train, test = _find_pair(target / name)
        return train, test, f"downloaded (aeon) into {target / name}"
    if is_name:
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
    x_train, labels_train, target_train = _read_ucr(train_file)
    x_test, labels_test, target_test = _read_ucr(test_file)
    for file, target in ((train_file, target_train), (test_file, target_test)):
        if target != "class":
            why = "regression targets (@targetLabel true)" if target == "value" else "no labels (@classLabel false)"
            raise DataError(f"UCR file {file} holds {why}; ucr: needs class labels.")
    if x_test[0].shape[0] != x_train[0].shape[0]:
        raise DataError(
            f"{test_file} holds series of {x_test[0].shape[0]} channel(s), {train_file.name} of {x_train[0].shape[0]}."
        )
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
    stats = _saved_stats(prep, channels) if prep.get("norm") == "channel" else None
    return prepare_series(
        series, steps, mode=prep.get("length", "resample"), norm=prep.get("norm", "series"), stats=stats
    )


def _saved_stats(prep: Mapping[str, Any], channels: int) -> tuple[list[float], list[float]]:
    """The training (means, stds) stored with a run, checked: ``channels`` finite numbers each,
    stds positive."""
    mean, std = prep.get("mean"), prep.get("std")
    for name, values in (("mean", mean), ("std", std)):
        ok = isinstance(values, list) and len(values) == channels
        ok = ok and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values)
        if not ok or (name == "std" and min(values) <= 0):
            raise DataError(
                f"The stored preprocessing is damaged: `{name}` must be a list of {channels} finite number(s)"
                f"{' > 0' if name == 'std' else ''}. Received: {name}={str(values)[:80]}"
            )
    return mean, std


def _read_csv_rows(path: Path, channels: int) -> list[np.ndarray]:
    """One series per row of a CSV file (a header row is skipped): C*T values, channel after channel."""
    series = []
    reader = _Reader(path)
    text = read_text_file(path, "series file")
    for number, line in enumerate(text.split("\n"), start=1):
        cells = line.split(",")
        if not any(c.strip() for c in cells):
            continue
        if number == 1 and not all(_is_number(c) or not c.strip() for c in cells):
            continue  # a header row
        values = reader.numbers(cells, number, empty_is_missing=True)
        if len(values) % channels:
            raise DataError(f"{path}, line {number}: {len(values)} values do not split into {channels} channels.")
        s = _strip_trailing_nan(values.reshape(channels, -1))
        reader.add(s, None, number)
        series.append(s)
    if not series:
        raise DataError(f"{path} holds no series (one comma-separated row of numbers per series).")
    return series
