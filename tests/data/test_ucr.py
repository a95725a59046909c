"""UCR/UEA loading: each file format, unequal lengths, missing values, z-normalisation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from deepscope.data import load
from deepscope.errors import DataError, UnknownNameError

pytest.importorskip("aeon")

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


def test_shipped_set_loads_offline_with_the_archive_split():
    data = load("ucr:GunPoint")
    assert data.input_shape == (1, 150) and data.classes == ["1", "2"]
    assert len(data.train) + len(data.val) == 50 and len(data.test) == 150


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
