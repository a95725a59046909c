"""Forecasting windows: time-ordered splits, layouts, seasonal-naive baseline, MASE."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepscope.data import load
from deepscope.data.forecast import make_windows, seasonal_naive, split_windows
from deepscope.errors import DataError, InvalidArgumentError, UnknownNameError
from deepscope.train.tasks import forecast_scores

pytest.importorskip("pandas")


def test_make_windows_pairs_history_with_the_following_horizon():
    x, y, origin = make_windows(np.arange(10.0), history=3, horizon=2)
    assert x.shape == (6, 3) and y.shape == (6, 2)
    assert x[0].tolist() == [0, 1, 2] and y[0].tolist() == [3, 4] and origin[0] == 3
    assert x[-1].tolist() == [5, 6, 7] and y[-1].tolist() == [8, 9]
    with pytest.raises(DataError, match="too short"):
        make_windows(np.arange(4.0), history=3, horizon=2)


def test_split_never_mixes_periods():
    _, _, origin = make_windows(np.arange(50.0), history=5, horizon=3)
    masks = split_windows(origin, 50, horizon=3, test_size=10, val_size=6)
    end = origin + 3
    assert end[masks["train"]].max() <= origin[masks["val"]].min()  # train targets end before val targets begin
    assert end[masks["val"]].max() <= origin[masks["test"]].min()
    assert origin[masks["test"]].min() == 40 and end[masks["test"]].max() == 50
    assert not (masks["train"] & masks["val"]).any() and not (masks["val"] & masks["test"]).any()


def test_airline_test_split_is_the_last_24_months_in_order():
    data = load("series:Airline")
    assert data.task == "regression" and data.kind == "series" and data.info["season"] == 12
    x, y = data.test.tensors
    assert x.shape == (24, 1, 24) and y.shape == (24, 1)
    assert y[:, 0].tolist()[-3:] == [461.0, 390.0, 432.0]  # Oct-Dec 1960
    assert y[0, 0] == 360.0  # Jan 1959
    torch.testing.assert_close(x[1:, 0, -1], y[:-1, 0])  # each window's last input is the previous target
    xv, yv = data.val.tensors
    assert yv[-1, 0] == x[0, 0, -1]  # val ends right where the test period begins


def test_seasonal_naive_repeats_the_last_season():
    x = torch.arange(24.0).reshape(1, 1, 24)
    torch.testing.assert_close(seasonal_naive(x, 12, 3), torch.tensor([[12.0, 13.0, 14.0]]))
    torch.testing.assert_close(seasonal_naive(x, 4, 6), torch.tensor([[20.0, 21.0, 22.0, 23.0, 20.0, 21.0]]))
    with pytest.raises(InvalidArgumentError, match="season"):
        seasonal_naive(x, 30, 1)


def test_mase_of_the_seasonal_naive_forecast_on_airline():
    data = load("series:Airline")
    x, y = data.test.tensors
    naive = seasonal_naive(x, 12, 1)
    scores = forecast_scores(y, naive, scale=data.info["mase_scale"])
    values = np.loadtxt(_airline_csv(), delimiter=",", skiprows=1, usecols=1)
    seen = values[:-24]
    assert data.info["mase_scale"] == pytest.approx(np.abs(seen[12:] - seen[:-12]).mean())
    assert scores["mae"] == pytest.approx(np.abs(values[-24:] - values[-36:-12]).mean())
    assert scores["mase"] == pytest.approx(scores["mae"] / data.info["mase_scale"])
    assert scores["rmse"] >= scores["mae"]


def _airline_csv():
    from deepscope.data.ucr import aeon_data_dir

    return aeon_data_dir() / "Airline" / "Airline.csv"


def test_wide_and_long_layouts_give_the_same_windows(tmp_path):
    months = [f"2000-{m:02d}-01" for m in range(1, 13)] + [f"2001-{m:02d}-01" for m in range(1, 13)]
    a, b = np.arange(24.0), 100 + 2 * np.arange(24.0)
    (tmp_path / "wide.csv").write_text("date,a,b\n" + "".join(f"{t},{u},{v}\n" for t, u, v in zip(months, a, b)))
    rows = [f"{name},{t},{v}" for name, s in (("b", b), ("a", a)) for t, v in zip(months, s)]
    (tmp_path / "long.csv").write_text("id,date,value\n" + "\n".join(rows[::-1]) + "\n")  # any row order
    wide = load(f"series:{tmp_path / 'wide.csv'}?history=12&test_size=6")
    long = load(f"series:{tmp_path / 'long.csv'}?history=12&test_size=6", val_fraction=0.1)
    assert wide.info["season"] == 12 and wide.info["series"] == 2
    for split in ("train", "val", "test"):
        for u, v in zip(wide.split(split).tensors, long.split(split).tensors):
            torch.testing.assert_close(u, v)
    assert len(wide.test) == 12  # 6 windows per series


def test_missing_values_are_interpolated_and_options_checked(tmp_path):
    (tmp_path / "gaps.csv").write_text("t,y\n" + "".join(f"{i},{'' if i == 5 else i}\n" for i in range(30)))
    data = load(f"series:{tmp_path / 'gaps.csv'}?history=8&test_size=5&season=1")
    x, _ = data.train.tensors
    assert not torch.isnan(x).any() and x[0, 0].tolist() == list(range(8))
    with pytest.raises(InvalidArgumentError, match="Did you mean 'horizon'"):
        load(f"series:{tmp_path / 'gaps.csv'}?horizn=3")
    with pytest.raises(UnknownNameError, match="Did you mean 'Airline'"):
        load("series:Airlin")


# ----------------------------------------------------------------------------- hostile files
def _ramp(tmp_path, cells: dict[int, str] | None = None, n: int = 40, header: str = "time,y"):
    rows = [f"{i},{(cells or {}).get(i, i)}" for i in range(n)]
    path = tmp_path / "s.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize("cell", ["1e400", "-inf", "Infinity", "1e39"])
def test_infinite_values_are_refused_naming_file_column_and_line(tmp_path, cell):
    path = _ramp(tmp_path, {6: cell})
    with pytest.raises(DataError, match=r"s\.csv, line 8: column 'y' must hold finite numbers within float32 range"):
        load(f"series:{path}?history=8&season=1")


def test_text_in_a_named_value_column_is_refused_naming_the_line(tmp_path):
    path = _ramp(tmp_path, {3: "oops"})
    with pytest.raises(DataError, match=r"s\.csv, line 5: column 'y' must hold numbers. Received: 'oops'"):
        load(f"series:{path}?value=y&history=8&season=1")


def test_two_rows_and_header_only_files_give_clean_errors(tmp_path):
    path = _ramp(tmp_path, n=2)
    with pytest.raises(DataError, match=r"Series 'y' in .*s\.csv has 2 step\(s\): too short for history=8"):
        load(f"series:{path}")
    path.write_text("t,y\n")
    with pytest.raises(DataError, match=r"s\.csv"):
        load(f"series:{path}")
    path.write_text("")
    with pytest.raises(DataError, match=r"Cannot read series file .*s\.csv"):
        load(f"series:{path}")


def test_window_arrays_are_bounded_before_allocation(tmp_path):
    from deepscope import limits

    path = _ramp(tmp_path, n=20_000)
    with limits.override(memory="64MB"), pytest.raises(DataError, match=r"windows of history=10000 \+ horizon=1"):
        load(f"series:{path}?history=10000&season=1")


@pytest.mark.parametrize(
    ("option", "arg"), [("season=0", "season"), ("horizon=-1", "horizon"), ("history=0", "history")]
)
def test_non_positive_settings_are_refused(tmp_path, option, arg):
    with pytest.raises(InvalidArgumentError, match=f"`{arg}` must be a positive int"):
        load(f"series:{_ramp(tmp_path)}?{option}")


def test_special_files_and_non_utf8_bytes_are_refused(tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe.csv")
    with pytest.raises(DataError, match=r"pipe\.csv must be a regular file. Received: a named pipe"):
        load(f"series:{tmp_path / 'pipe.csv'}")
    (tmp_path / "latin.csv").write_bytes(b"t,y\n1,2\n2,\xe9\n")
    with pytest.raises(DataError, match=r"latin\.csv is not UTF-8 text \(line 3"):
        load(f"series:{tmp_path / 'latin.csv'}")


def test_long_layout_without_ids_holds_no_series(tmp_path):
    (tmp_path / "long.csv").write_text("id,time,v\n,1,2\n,2,3\n")
    with pytest.raises(DataError, match="holds no series"):
        load(f"series:{tmp_path / 'long.csv'}")
