"""Forecasting data: a series cut into (history, horizon) windows with a time-ordered split.

``series:PATH`` reads a CSV or Parquet file in the wide layout (a time column and one
numeric column per series) or the long layout (id, time and value columns);
``series:Airline`` (and the other series aeon ships) needs no file. Each window's input is
the ``history`` values before an origin, shaped (1, history); its target is the next
``horizon`` values (horizon,). The split follows time and never shuffles across it:

    |---- train targets ----|-- val targets --|-- test targets (last test_size steps) --|

a window belongs to the period that holds its *whole target*; inputs may look back into an
earlier period (those values were observed before the origin). With several series, each is
cut at its own end and the windows are pooled.

Honest baselines: :func:`seasonal_naive` repeats the last season of each window's history;
MASE divides a forecast's MAE by the in-sample MAE of the one-season-back forecast over the
data before the test period (Hyndman & Koehler 2006; pooled over series when there are
several). The ``deepscope.train.tasks.forecast_scores`` function computes MAE, RMSE, MASE.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from deepscope import limits
from deepscope.data.catalog import register_dataset
from deepscope.data.options import parse_spec_options
from deepscope.data.spec import Baseline, Dataset, check_val_fraction
from deepscope.data.text import read_text_file
from deepscope.errors import DataError, DeepscopeError, UnknownNameError, invalid

__all__ = [
    "BUILTIN_SERIES",
    "Windows",
    "forecast_inputs",
    "load_forecast",
    "make_windows",
    "read_series_table",
    "seasonal_naive",
    "split_windows",
]

# Series aeon ships: (file inside aeon/datasets/data, value column, season).
BUILTIN_SERIES = {
    "Airline": ("Airline/Airline.csv", "Passengers", 12),  # monthly passengers 1949-1960 (Box & Jenkins)
    "ShampooSales": ("ShampooSales/ShampooSales.csv", "Sales", 12),
    "PBS_dataset": ("PBS_dataset/PBS_dataset.csv", "Scripts", 12),
    "Lynx": ("Lynx/Lynx.csv", "0", 10),  # yearly trappings, ~10-year cycle
}
TIME_NAMES = ("time", "date", "datetime", "timestamp", "ds", "month", "quarter", "year", "period")
ID_NAMES = ("id", "series", "unique_id", "item_id", "series_id", "name")
_FREQ_SEASON = {"M": 12, "Q": 4, "W": 52, "D": 7, "B": 5, "H": 24}
_FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass
class Windows:
    """Windows of one or more series: x (N, 1, history), y (N, horizon), and for each window
    the index of its origin (first target step) and the series it came from."""

    x: torch.Tensor
    y: torch.Tensor
    origin: np.ndarray
    series: np.ndarray


def make_windows(values: np.ndarray, history: int, horizon: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (history, horizon) window of a 1-D series (T,), stride 1: x (N, history),
    y (N, horizon) and the origins (N,) where origin o gives x = v[o-history:o], y = v[o:o+horizon]."""
    for arg, value in (("history", history), ("horizon", horizon)):
        if not isinstance(value, int) or value < 1:
            raise invalid(arg, "a positive int", value)
    values = np.asarray(values, dtype=np.float64)
    n = len(values) - history - horizon + 1
    if n < 1:
        raise DataError(f"A series of {len(values)} steps is too short for history={history} + horizon={horizon}.")
    view = np.lib.stride_tricks.sliding_window_view(values, history + horizon)  # (n, history+horizon)
    return view[:, :history].copy(), view[:, history:].copy(), np.arange(history, history + n)


def split_windows(
    origin: np.ndarray, length: int, horizon: int, test_size: int, val_size: int
) -> dict[str, np.ndarray]:
    """Boolean masks per split for windows with ``origin`` in a series of ``length`` steps:
    a window goes where its whole target [origin, origin+horizon) lies."""
    end = origin + horizon  # one past the last target step
    test_start, val_start = length - test_size, length - test_size - val_size
    return {
        "train": end <= val_start,
        "val": (origin >= val_start) & (end <= test_start),
        "test": origin >= test_start,
    }


def seasonal_naive(x: torch.Tensor, season: int, horizon: int) -> torch.Tensor:
    """The seasonal-naive forecast of windows x (N, 1, history): step h repeats the value one
    season back from it, i.e. the last season of the history over and over. -> (N, horizon)."""
    history = x.shape[-1]
    if season > history:
        raise invalid("season", f"at most the history length {history}", season)
    last = x[:, 0, history - season :]  # (N, season)
    return last[:, torch.arange(horizon) % season]  # (N, horizon)


# ----------------------------------------------------------------------------- reading tables
def read_series_table(
    path: Path, *, value: str | None = None, time: str | None = None, id: str | None = None
) -> tuple[dict[str, np.ndarray], int]:
    """Read a CSV/Parquet file into {series name: values (T,)} and the season its time
    column suggests (12 monthly, 4 quarterly, 52 weekly, 7 daily, 24 hourly; 1 if unknown).

    The file must be a regular file within the caps (CSV: UTF-8 text under the text cap;
    Parquet: under the memory cap). Gaps (empty cells, NaN) are filled by linear
    interpolation; an infinite value ('1e400', 'inf') or one beyond float32 range is refused,
    naming the file, the column and the line (data row + 1 for the header)."""
    import pandas as pd

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise invalid("path", "a .csv or .parquet file", str(path))
    try:
        if suffix == ".csv":
            frame = pd.read_csv(io.StringIO(read_text_file(path, "series file")))
        else:
            frame = _read_parquet(path)
        return _series_of(frame, path, value=value, time=time, id=id)
    except DeepscopeError:
        raise
    except ImportError as error:
        raise DataError(f"Reading {path} needs a Parquet engine: pip install pyarrow ({error}).") from None
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, pd.errors.ParserError) as error:
        raise DataError(f"Cannot read series file {path}: {str(error)[:300]}") from None


def _read_parquet(path: Path):
    """A Parquet file as a DataFrame: the file's bytes under the memory cap, and (with pyarrow)
    its declared uncompressed size checked against the cap before anything is decoded."""
    import pandas as pd

    data = limits.read_bytes(path, "series file")
    try:
        import pyarrow.parquet as pq
    except ImportError:
        pq = None
    if pq is not None:
        meta = pq.ParquetFile(io.BytesIO(data)).metadata
        size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        limits.check_allocation(size, f"Series file {path} (decoded)")
    return pd.read_parquet(io.BytesIO(data))


def _series_of(
    frame, path: Path, *, value: str | None, time: str | None, id: str | None
) -> tuple[dict[str, np.ndarray], int]:
    import pandas as pd

    columns = list(frame.columns)
    for arg, name in (("value", value), ("time", time), ("id", id)):
        if name is not None and name not in columns:
            raise invalid(arg, f"a column of {path.name} ({', '.join(map(str, columns[:20]))})", name)
    time = time or next((c for c in columns if str(c).lower() in TIME_NAMES), None)
    id = id or next((c for c in columns if str(c).lower() in ID_NAMES), None)
    season = _season_of(frame[time]) if time is not None else 1
    if id is not None:  # long layout: one row per (series, time)
        if value is None:
            numeric = [c for c in columns if c not in (id, time) and pd.api.types.is_numeric_dtype(frame[c])]
            if len(numeric) != 1:
                raise DataError(
                    f"{path} looks long (id column {id!r}); name its value column with ?value=NAME "
                    f"(numeric columns: {numeric[:20]})."
                )
            value = numeric[0]
        if time is not None:
            frame = frame.sort_values([id, time], kind="stable")
        columns_of = {str(k): g[value] for k, g in frame.groupby(id, sort=True)}
        if time is not None and len(frame):
            season = _season_of(frame[frame[id] == frame[id].iloc[0]][time])
    else:  # wide layout: one column per series
        names = (
            [value]
            if value is not None
            else [c for c in columns if c != time and pd.api.types.is_numeric_dtype(frame[c])]
        )
        if not names:
            raise DataError(f"{path} has no numeric column to forecast (columns: {columns[:20]}).")
        columns_of = {str(c): frame[c] for c in names}
    if not columns_of:
        raise DataError(f"{path} holds no series (no rows with an id).")
    return {name: _values(column, name, path) for name, column in columns_of.items()}, season


def _values(column, name: str, path: Path) -> np.ndarray:
    """One series' values (T,) float64: numbers only, gaps filled by linear interpolation,
    infinite or out-of-float32-range values refused, naming the line."""
    import pandas as pd

    numbers = pd.to_numeric(column, errors="coerce")
    lines = np.asarray(column.index, dtype=np.int64) + 2 if pd.api.types.is_integer_dtype(column.index) else None

    def where(k: int) -> str:  # a CSV row's line: its index + 1 for the header (blank lines aside)
        return f"line {lines[k]}" if lines is not None else f"row {k + 1}"

    text = numbers.isna().to_numpy() & column.notna().to_numpy()  # cells that are not numbers
    if text.any():
        k = int(np.flatnonzero(text)[0])
        raise DataError(
            f"{path}, {where(k)}: column {name!r} must hold numbers. Received: {str(column.iloc[k])[:40]!r}"
        )
    values = numbers.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    huge = np.abs(values) > _FLOAT32_MAX  # inf too; NaN compares False
    if huge.any():
        k = int(np.flatnonzero(huge)[0])
        raise DataError(
            f"{path}, {where(k)}: column {name!r} must hold finite numbers within float32 range (±3.4e38). "
            f"Received: {values[k]}"
        )
    gaps = np.isnan(values)
    if gaps.all():
        raise DataError(f"Series {name!r} in {path} has no values.")
    if gaps.any():
        t = np.arange(len(values))  # fill gaps by linear interpolation along time
        values[gaps] = np.interp(t[gaps], t[~gaps], values[~gaps])
    return values


def forecast_inputs(
    path: Path, history: int, *, value: str | None = None, time: str | None = None, id: str | None = None
) -> tuple[list[str], torch.Tensor]:
    """What a trained forecaster reads to forecast past the end of a file: the last ``history``
    values of each series in a CSV/Parquet file (either layout), as inputs (N, 1, history),
    with the series' names."""
    path = Path(path)
    groups, _ = read_series_table(path, value=value, time=time, id=id)
    short = {name: len(v) for name, v in groups.items() if len(v) < history}
    if short:
        raise DataError(
            f"The model reads the last {history} values of a series, but {path.name} holds fewer: "
            + ", ".join(f"{name!r} has {n}" for name, n in short.items())
            + "."
        )
    x = np.stack([v[-history:] for v in groups.values()])[:, None, :]  # (N, 1, history)
    return list(groups), torch.tensor(x, dtype=torch.float32)


def _season_of(times) -> int:
    import pandas as pd

    try:
        with warnings.catch_warnings():  # "could not infer format": the fallback is what we want
            warnings.simplefilter("ignore")
            stamps = pd.to_datetime(times.astype(str), errors="raise")
            freq = pd.infer_freq(pd.DatetimeIndex(stamps)) if len(stamps) >= 3 else None
    except (ValueError, TypeError, OverflowError):
        return 1
    if not freq:
        return 1
    base = freq.split("-")[0].rstrip("SE").upper()[-1:]  # 'MS' -> 'M', 'QS-OCT' -> 'Q', 'h' -> 'H'
    return _FREQ_SEASON.get(base, 1)


# ----------------------------------------------------------------------------- the loader
_OPTIONS = {"history": int, "horizon": int, "test_size": int, "season": int, "value": str, "time": str, "id": str}


@register_dataset(
    "series",
    kind="series",
    needs_path=True,
    expects="a CSV/Parquet file (wide: time + one column per series; long: id, time, value) or a shipped series "
    f"({', '.join(BUILTIN_SERIES)}); options ?history=24&horizon=1&test_size=24&season=12&value=COL",
    summary="forecasting: (history -> horizon) windows of a series, split in time order",
)
def load_forecast(path: Path | None, *, val_fraction: float = 0.1, seed: int = 0, download: bool = False) -> Dataset:
    """Windows of the series at ``path`` (or a shipped one) with a time-ordered split.

    Defaults: season from the time column (or the shipped series' own), history two seasons
    (at least 8 steps), horizon 1, test_size two seasons (20% of the series if there is no
    season), val_size ``val_fraction`` of what precedes the test period (at least one horizon).
    ``seed`` is unused: nothing here is random."""
    where, options = parse_spec_options(path, _OPTIONS, what="series")
    val_fraction = check_val_fraction(val_fraction)
    if where is None:
        raise DataError("Dataset 'series' needs a file or a shipped series: 'series:Airline' or 'series:PATH.csv'.")
    name = str(where)
    if not where.exists() and name in BUILTIN_SERIES:
        from deepscope.data.ucr import aeon_data_dir

        file, column, season = BUILTIN_SERIES[name]
        groups, _ = read_series_table(aeon_data_dir() / file, value=column)
        source = f"aeon (shipped): {name}"
    elif not where.exists() and "/" not in name and where.suffix == "":
        raise UnknownNameError("shipped series (and no such file)", name, BUILTIN_SERIES)
    else:
        groups, season = read_series_table(
            where, value=options.get("value"), time=options.get("time"), id=options.get("id")
        )
        source, name = str(where), where.stem
    season = options.get("season", season)
    shortest = min(len(v) for v in groups.values())
    history = options.get("history", max(2 * season, 8))
    horizon = options.get("horizon", 1)
    for arg, value in (("season", season), ("history", history), ("horizon", horizon)):
        if value < 1:
            raise invalid(arg, "a positive int", value)
    test_size = options.get("test_size", 2 * season if season > 1 else max(horizon, round(0.2 * shortest)))
    val_size = max(horizon, round(val_fraction * (shortest - test_size))) if val_fraction > 0 else 0
    if test_size < horizon:
        raise invalid("test_size", f"at least the horizon ({horizon})", test_size)
    if season > history:
        raise invalid("history", f"at least one season ({season} steps) for the seasonal-naive baseline", history)
    short = {k: len(v) for k, v in groups.items() if len(v) < history + horizon}
    if short:
        k, steps = next(iter(short.items()))
        raise DataError(
            f"Series {k!r} in {source} has {steps} step(s): too short for history={history} + horizon={horizon} "
            f"(the default history is two seasons, at least 8 steps; set ?history=N&horizon=N)."
        )
    windows = sum(len(v) - history - horizon + 1 for v in groups.values())
    # float64 windows from make_windows + the float32 tensors: refused before either exists
    limits.check_allocation(
        windows * (history + horizon) * 12, f"{windows} windows of history={history} + horizon={horizon}"
    )
    parts: dict[str, list] = {"train": [], "val": [], "test": []}
    naive_errors, naive_count = 0.0, 0
    for values in groups.values():
        x, y, origin = make_windows(values, history, horizon)
        masks = split_windows(origin, len(values), horizon, test_size, val_size)
        for split, mask in masks.items():
            parts[split].append((x[mask], y[mask]))
        seen = values[: len(values) - test_size]  # everything observed before the test period
        if len(seen) > season:
            naive_errors += float(np.abs(seen[season:] - seen[:-season]).sum())
            naive_count += len(seen) - season
    splits = {}
    for split, chunks in parts.items():
        xs = np.concatenate([c[0] for c in chunks]) if chunks else np.zeros((0, history))
        ys = np.concatenate([c[1] for c in chunks]) if chunks else np.zeros((0, horizon))
        splits[split] = TensorDataset(
            torch.tensor(xs, dtype=torch.float32)[:, None, :],  # (N, 1, history)
            torch.tensor(ys, dtype=torch.float32),
        )  # (N, horizon)
    if len(splits["train"]) == 0:
        raise DataError(
            f"No training windows in {source}: the series ({shortest} steps) is too short for "
            f"history={history}, horizon={horizon}, test_size={test_size}, val_size={val_size}."
        )
    scale = naive_errors / naive_count if naive_count else float("nan")
    info = {
        "source": source,
        "season": season,
        "history": history,
        "horizon": horizon,
        "test_size": test_size,
        "val_size": val_size,
        "series": len(groups),
        "mase_scale": scale,
    }
    return Dataset(
        name=name,
        kind="series",
        input_shape=(1, history),
        train=splits["train"],
        val=splits["val"],
        test=splits["test"],
        classes=None,
        task="regression",
        info=info,
        baseline=Baseline("seasonal naive", partial(seasonal_naive, season=season, horizon=horizon)),
    )
