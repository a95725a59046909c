"""UCR/UEA loading: each file format, unequal lengths, missing values, z-normalisation."""

from __future__ import annotations

import os
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest
import torch

from deepscope.data import load
from deepscope.errors import DataError, UnknownNameError

# Reading .ts/.arff/.tsv files needs nothing extra; the sets aeon ships need aeon.
needs_aeon = pytest.mark.skipif(find_spec("aeon") is None, reason="aeon (deepscope[series]) is not installed")

TS_HEADER = """# a toy multivariate, unequal-length set with a missing value
@problemName toy
@timeStamps false
@missing true
@univariate false
@dimensions 2
@equalLength false
@classLabel true up down
@data
"""


def _write_ts(folder: Path) -> None:
    (folder / "Toy_TRAIN.ts").write_text(
        TS_HEADER
        + "\n".join(
            [
                "1,2,3,4,5:5,4,3,2,1:up",
                "1,2,3:3,2,1:up",
                "5,?,3,2,1:1,2,3,4,5:down",
                "4,3,2,1,0:0,1,2,3,4:down",
            ]
        )
        + "\n"
    )
    (folder / "Toy_TEST.ts").write_text(TS_HEADER + "1,2,3,4:4,3,2,1:up\n6,5,4:1,2,3:down\n")


def test_ts_multivariate_unequal_length_is_resampled_and_znormalised(tmp_path):
    _write_ts(tmp_path)
    data = load(f"ucr:{tmp_path}?norm=series", val_fraction=0.0)
    assert data.kind == "series" and data.input_shape == (2, 5)  # the longest training series
    assert data.classes == ["down", "up"]
    x, y = data.train.tensors
    assert x.shape == (4, 2, 5) and y.tolist() == [1, 1, 0, 0]
    assert not torch.isnan(x).any() and data.info["missing_values_filled"] == 1
    torch.testing.assert_close(x.mean(-1), torch.zeros(4, 2), atol=1e-6, rtol=0)
    torch.testing.assert_close(x.std(-1, unbiased=False), torch.ones(4, 2), atol=1e-5, rtol=0)
    # '1,2,3' resampled to 5 steps is the straight line 1, 1.5, ..., 3: z-normalised, evenly spaced
    ramp = torch.linspace(-1, 1, 5) / torch.linspace(-1, 1, 5).std(unbiased=False)
    torch.testing.assert_close(x[1, 0], ramp, atol=1e-5, rtol=0)
    # the missing value of '5,?,3,2,1' is interpolated to 4: the channel becomes a straight line down
    torch.testing.assert_close(x[2, 0], -ramp, atol=1e-5, rtol=0)
    xt, yt = data.test.tensors
    assert xt.shape == (2, 2, 5) and yt.tolist() == [1, 0]


def test_multivariate_sets_are_standardised_per_channel_with_training_statistics(tmp_path):
    _write_ts(tmp_path)
    data = load(f"ucr:{tmp_path}", val_fraction=0.0)
    prep = data.info["preprocess"]
    assert prep["norm"] == "channel"
    # channel 0 of the training series, missing value filled: 1..5, 1..3, 5 4 3 2 1, 4..0
    raw = np.array([1, 2, 3, 4, 5, 1, 2, 3, 5, 4, 3, 2, 1, 4, 3, 2, 1, 0], dtype=float)
    assert prep["mean"][0] == pytest.approx(raw.mean()) and prep["std"][0] == pytest.approx(raw.std())
    x, _ = data.test.tensors
    expected = (torch.tensor([6.0, 5.5, 5.0, 4.5, 4.0]) - raw.mean()) / raw.std()  # '6,5,4' resampled to 5 steps
    torch.testing.assert_close(x[1, 0], expected.float(), atol=1e-5, rtol=0)


def test_pad_option_zero_pads_after_the_end(tmp_path):
    from deepscope.nn import lengths_from_mask

    _write_ts(tmp_path)
    data = load(f"ucr:{tmp_path}?length=pad&norm=series", val_fraction=0.0)
    x, _ = data.train.tensors
    assert x.shape == (4, 2, 5)
    assert torch.all(x[1, :, 3:] == 0)
    assert lengths_from_mask(x.transpose(1, 2)).tolist() == [5, 3, 5, 5]


def test_tsv_trailing_nans_are_padding_and_inner_nans_are_missing(tmp_path):
    (tmp_path / "T_TRAIN.tsv").write_text("1\t1\t2\t3\t4\n2\t4\tNaN\t2\t1\n1\t1\t2\tNaN\tNaN\n2\t2\t1\t0\t-1\n")
    (tmp_path / "T_TEST.tsv").write_text("1\t0\t1\t2\t3\n2\t3\t2\t1\t0\n")
    data = load(f"ucr:{tmp_path / 'T_TRAIN.tsv'}", val_fraction=0.0)
    x, y = data.train.tensors
    assert data.input_shape == (1, 4) and data.classes == ["1", "2"]
    assert data.info["length"].startswith("resampled")  # row 3 has 2 real steps, not 4
    ramp = torch.linspace(-1, 1, 4) / torch.linspace(-1, 1, 4).std(unbiased=False)
    torch.testing.assert_close(x[2, 0], ramp, atol=1e-5, rtol=0)  # '1 2' stretched to 4 steps
    torch.testing.assert_close(x[1, 0], -ramp, atol=1e-5, rtol=0)  # '4 NaN 2 1' -> '4 3 2 1'
    assert y.tolist() == [0, 1, 0, 1]


def test_arff_univariate_with_missing_values(tmp_path):
    header = (
        "@relation toy\n@attribute t0 numeric\n@attribute t1 numeric\n@attribute t2 numeric\n"
        "@attribute target {a,b}\n@data\n"
    )
    (tmp_path / "A_TRAIN.arff").write_text(header + "1,2,3,a\n3,?,1,b\n2,2,4,a\n")
    (tmp_path / "A_TEST.arff").write_text(header + "0,1,2,a\n")
    data = load(f"ucr:{tmp_path}", val_fraction=0.0)
    x, y = data.train.tensors
    assert x.shape == (3, 1, 3) and y.tolist() == [0, 1, 0] and data.classes == ["a", "b"]
    assert data.info["length"] == "equal"
    torch.testing.assert_close(x[1, 0], -x[0, 0])  # '3 ? 1' -> '3 2 1', the mirror of '1 2 3'


def test_test_labels_must_occur_in_train(tmp_path):
    _write_ts(tmp_path)
    (tmp_path / "Toy_TEST.ts").write_text(TS_HEADER.replace("up down", "up down left") + "1,2:2,1:left\n")
    with pytest.raises(DataError, match="never occur"):
        load(f"ucr:{tmp_path}")


@needs_aeon
def test_shipped_set_loads_offline_with_the_archive_split():
    data = load("ucr:GunPoint")
    assert data.input_shape == (1, 150) and data.classes == ["1", "2"]
    assert len(data.train) + len(data.val) == 50 and len(data.test) == 150


@needs_aeon
def test_unknown_set_name_suggests_the_shipped_ones():
    with pytest.raises(UnknownNameError, match="Did you mean 'GunPoint'"):
        load("ucr:GunPont")


def test_read_series_prepares_csv_rows_like_training(tmp_path):
    from deepscope.data.ucr import read_series

    (tmp_path / "rows.csv").write_text("1,2,3,4,5,6\n6,5,,3,2,1\n1,2,3\n")
    x = read_series(tmp_path / "rows.csv", (1, 6))
    assert x.shape == (3, 1, 6) and not torch.isnan(x).any()
    torch.testing.assert_close(x[1], -x[0], atol=1e-5, rtol=0)  # the gap is filled with 4
    torch.testing.assert_close(x[2], x[0], atol=1e-5, rtol=0)  # 3 steps resampled to 6
    (tmp_path / "odd.csv").write_text("1,2,3\n")
    with pytest.raises(DataError, match="line 1: 3 values do not split into 2 channels"):
        read_series(tmp_path / "odd.csv", (2, 3))


# ----------------------------------------------------------------------------- hostile files
TOY = "@problemName toy\n@classLabel true a b\n@data\n"


def _pair(folder: Path, train: str, test: str = TOY + "1,2,3:a\n3,2,1:b\n", suffix: str = ".ts") -> Path:
    (folder / f"H_TRAIN{suffix}").write_text(train)
    (folder / f"H_TEST{suffix}").write_text(test)
    return folder


@pytest.mark.parametrize("value", ["1e400", "-inf", "Infinity", "3.5e38"])
def test_values_beyond_float32_are_refused_naming_file_and_line(tmp_path, value):
    _pair(tmp_path, TOY + f"1,2,3:a\n\n1,{value},3:b\n", TOY + "1,2,3:a\n")
    with pytest.raises(DataError, match=rf"H_TRAIN\.ts, line 6: values must be finite numbers .* Received: '{value}'"):
        load(f"ucr:{tmp_path}")


def test_infinite_values_in_arff_and_tsv_name_the_line(tmp_path):
    header = "@relation t\n@attribute a numeric\n@attribute b numeric\n@attribute c {x,y}\n@data\n"
    _pair(tmp_path, header + "1,2,x\n1e400,2,y\n", header + "1,2,x\n", suffix=".arff")
    with pytest.raises(DataError, match=r"H_TRAIN\.arff, line 7: values must be finite"):
        load(f"ucr:{tmp_path}")
    (tmp_path / "H_TRAIN.arff").unlink()
    _pair(tmp_path, "1\t1\t2\n2\t3\t-1e999\n", "1\t1\t2\n", suffix=".tsv")
    with pytest.raises(DataError, match=r"H_TRAIN\.tsv, line 2: values must be finite"):
        load(f"ucr:{tmp_path}")


def test_declared_sizes_are_bounded_before_reading_and_checked_against_the_lines(tmp_path):
    _pair(tmp_path, "@dimensions 100000\n@seriesLength 1000000000\n" + TOY + "1,2,3:a\n")
    with pytest.raises(DataError, match=r"@seriesLength 1000000000\) would need .* more than the cap"):
        load(f"ucr:{tmp_path}")
    _pair(tmp_path, "@dimensions 2\n" + TOY + "1,2,3:4,5,6:a\n1,2,3:b\n")
    with pytest.raises(DataError, match=r"line 6: the series has 1 channel\(s\), the first series 2"):
        load(f"ucr:{tmp_path}")
    _pair(tmp_path, "@equalLength true\n@seriesLength 3\n" + TOY + "1,2,3:a\n1,2:b\n")
    with pytest.raises(DataError, match=r"line 7: the series has 2 values; the header declares equal lengths of 3"):
        load(f"ucr:{tmp_path}")
    _pair(tmp_path, "@seriesLength 12x\n" + TOY + "1,2,3:a\n")
    with pytest.raises(DataError, match=r"line 1: `@seriesLength` must be a positive int. Received: '12x'"):
        load(f"ucr:{tmp_path}")


def test_a_small_file_that_resamples_to_a_huge_array_is_refused(tmp_path):
    from deepscope import limits

    _pair(tmp_path, TOY + ",".join(["1"] * 20_000) + ":a\n1:b\n", TOY + "1:a\n" * 2000)
    with limits.override(memory="64MB"), pytest.raises(DataError, match=r"2000 series of 1 channel\(s\) x 20000 steps"):
        load(f"ucr:{tmp_path}", val_fraction=0.0)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("1,2,3:nan", "the class label must be a name or a finite number. Received: 'nan'"),
        ("1,2,3:", "the class label is empty"),
        ("1,2,3", "expected the series' channels, then ':' and its label"),
        ("1,x,3:a", "every value must be a number, or '\\?'/NaN where missing. Received: 'x'"),
        (":a", "channel 1 holds no values"),
        ("1,2:3,4,5:a", r"the channels of one series must have one length. Received: lengths \[2, 3\]"),
    ],
)
def test_malformed_ts_lines_are_located(tmp_path, line, message):
    _pair(tmp_path, TOY + "1,2,3:a\n" + line + "\n")
    with pytest.raises(DataError, match=rf"H_TRAIN\.ts, line 5: {message}"):
        load(f"ucr:{tmp_path}")


def test_header_and_empty_files(tmp_path):
    _pair(tmp_path, "@problemName toy\n1,2,3:a\n")
    with pytest.raises(DataError, match=r"line 2: expected a header tag"):
        load(f"ucr:{tmp_path}")
    _pair(tmp_path, "")
    with pytest.raises(DataError, match=r"H_TRAIN\.ts has no @data line"):
        load(f"ucr:{tmp_path}")
    _pair(tmp_path, TOY)
    with pytest.raises(DataError, match=r"H_TRAIN\.ts holds no series"):
        load(f"ucr:{tmp_path}")
    _pair(tmp_path, TOY.replace("@classLabel true a b", "@classLabel false") + "1,2,3\n")
    with pytest.raises(DataError, match=r"holds no labels \(@classLabel false\); ucr: needs class labels"):
        load(f"ucr:{tmp_path}")


def test_one_series_needs_val_fraction_zero(tmp_path):
    _pair(tmp_path, TOY + "1,2,3:a\n", TOY + "1,2,3:a\n")
    with pytest.raises(DataError, match="`val_fraction` must leave at least one training sample"):
        load(f"ucr:{tmp_path}")
    data = load(f"ucr:{tmp_path}", val_fraction=0.0)
    assert (len(data.train), len(data.val), len(data.test)) == (1, 0, 1)


def test_test_series_must_have_the_training_channel_count(tmp_path):
    _pair(tmp_path, TOY + "1,2:3,4:a\n2,1:4,3:b\n", TOY + "1,2:a\n")
    with pytest.raises(DataError, match=r"H_TEST\.ts holds series of 1 channel\(s\), H_TRAIN\.ts of 2"):
        load(f"ucr:{tmp_path}", val_fraction=0.0)


def test_fifo_train_file_is_refused(tmp_path):
    os.mkfifo(tmp_path / "H_TRAIN.ts")
    (tmp_path / "H_TEST.ts").write_text(TOY + "1,2:a\n")
    with pytest.raises(DataError, match=r"H_TRAIN\.ts must be a regular file. Received: a named pipe"):
        load(f"ucr:{tmp_path / 'H_TRAIN.ts'}")


@needs_aeon
def test_timestamped_ts_and_multivariate_arff_read_like_aeon():
    from deepscope.data.ucr import aeon_data_dir, read_ucr_file

    series, labels = read_ucr_file(aeon_data_dir() / "UnitTest" / "UnitTestTimeStamps_TRAIN.ts")
    assert series[0].tolist() == [[241.97, 241.75, 241.64, 241.71]] and labels.tolist() == ["1", "1", "2", "2"]
    ts, ts_labels = read_ucr_file(aeon_data_dir() / "BasicMotions" / "BasicMotions_TRAIN.ts")
    arff, arff_labels = read_ucr_file(aeon_data_dir() / "BasicMotions" / "BasicMotions_TRAIN.arff")
    assert all(np.array_equal(a, b) for a, b in zip(ts, arff)) and ts[0].shape == (6, 100)
    assert [v.lower() for v in arff_labels] == ts_labels.tolist()  # .ts labels are lower-cased, as aeon reads them


def test_shipped_names_without_aeon_say_which_extra_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "aeon", None)  # as if aeon were not installed
    with pytest.raises(DataError, match=r"ship with aeon .* pip install 'deepscope\[series\]'"):
        load("ucr:GunPoint")
    with pytest.raises(DataError, match=r"pip install 'deepscope\[series\]'"):
        load("series:Airline")


def test_read_series_refuses_infinite_csv_cells_and_damaged_stats(tmp_path):
    from deepscope.data.ucr import read_series

    (tmp_path / "rows.csv").write_text("a,b,c\n1,2,3\n1,1e400,3\n")
    with pytest.raises(DataError, match=r"rows\.csv, line 3: values must be finite"):
        read_series(tmp_path / "rows.csv", (1, 3))
    (tmp_path / "rows.csv").write_text("1,2,3\n")
    with pytest.raises(DataError, match=r"`std` must be a list of 1 finite number\(s\) > 0"):
        read_series(tmp_path / "rows.csv", (1, 3), {"norm": "channel", "mean": [0.0], "std": [0.0]})
    with pytest.raises(DataError, match="`mean` must be a list of 1"):
        read_series(tmp_path / "rows.csv", (1, 3), {"norm": "channel"})


@needs_aeon
@pytest.mark.slow
def test_every_ts_file_aeon_ships_reads_as_aeon_reads_it():
    """Our parser (bounded, line-numbered errors) against aeon's reader on its own files."""
    from aeon.datasets import load_from_ts_file

    from deepscope.data.ucr import aeon_data_dir, read_ucr_file

    files = sorted(aeon_data_dir().rglob("*.ts"))
    assert len(files) >= 20
    compared = 0
    for path in files:
        try:
            theirs, their_labels = load_from_ts_file(str(path))
        except Exception:  # a file aeon itself cannot read (e.g. a regression target): nothing to compare
            continue
        ours, our_labels = read_ucr_file(path)
        assert len(ours) == len(theirs), path
        for a, b in zip(ours, theirs):
            assert np.allclose(a, np.asarray(b, dtype=float), equal_nan=True), path
        if len(our_labels):
            assert [str(v) for v in our_labels] == [str(v).lower() for v in their_labels] or np.allclose(
                np.asarray(our_labels, dtype=float), np.asarray(their_labels, dtype=float)
            ), path
        compared += 1
    assert compared >= 20
