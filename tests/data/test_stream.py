"""Streamed image folders: the same splits and samples as the in-memory path, the cache,
bounded requests, and training that matches the in-memory run."""

from __future__ import annotations

import pickle
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from deepscope import limits, runs
from deepscope.data import load
from deepscope.data.stream import ImageFiles, ImageRows
from deepscope.errors import DataError, InvalidArgumentError
from deepscope.train import fit
from deepscope.train.run import fingerprint


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPSCOPE_HOME", str(tmp_path / "home"))


def colour_folder(root: Path, per_class: int = 15) -> Path:
    """Two classes of 10x12 RGB PNGs (some 20x24, resized on decode); class 'b' has a
    bright left half, so a linear model can learn it."""
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            size = (20, 24) if i % 5 == 0 else (10, 12)
            pixels = (rng.random((*size, 3)) * 200).astype(np.uint8)
            if name == "b":
                pixels[:, : size[1] // 2] = 255
            Image.fromarray(pixels).save(root / name / f"{i:02d}.png")
    return root


@pytest.mark.parametrize("options", ["stream=yes", "cache=yes"])
@pytest.mark.parametrize("subset", ["", "&classes=b,a&per_class=6&test_per_class=2"])
def test_streamed_splits_hold_the_in_memory_samples(tmp_path, options, subset):
    root = colour_folder(tmp_path / "pics")
    memory = load(f"images:{root}?{subset.lstrip('&')}" if subset else f"images:{root}")
    streamed = load(f"images:{root}?{options}{subset}")
    assert streamed.input_shape == memory.input_shape == (3, 10, 12)
    assert streamed.classes == memory.classes
    for split in ("train", "val", "test"):
        x, y = streamed.split(split).tensors
        assert isinstance(streamed.split(split), ImageFiles) and isinstance(x, ImageRows)
        assert torch.equal(y, memory.split(split).tensors[1])
        assert torch.equal(x[:], memory.split(split).tensors[0])
        assert torch.equal(x[-1], memory.split(split).tensors[0][-1])
    assert "streamed" in streamed.info and "streamed" not in memory.info


def test_the_cache_fills_on_the_first_pass_and_serves_later_reads_without_the_files(tmp_path):
    root = colour_folder(tmp_path / "pics")
    data = load(f"images:{root}?cache=yes")
    table = data.train.table
    assert table.cached_rows() == 0 and table.cache_path.is_file()
    expected = {s: data.split(s).tensors[0][:] for s in ("train", "val", "test")}  # the first pass fills it
    assert table.cached_rows() == 30
    copy = load(f"images:{root}?cache=yes")  # the same listing: the same cache
    assert copy.train.table.cache_path == table.cache_path
    shutil.rmtree(root)  # every later read comes from the cache
    for s in ("train", "val", "test"):
        assert torch.equal(copy.split(s).tensors[0][:], expected[s])


def test_a_changed_folder_gets_a_new_cache_and_fingerprint(tmp_path):
    root = colour_folder(tmp_path / "pics")
    before = load(f"images:{root}?cache=yes")
    Image.fromarray(np.zeros((10, 12, 3), np.uint8)).save(root / "a" / "extra.png")
    after = load(f"images:{root}?cache=yes")
    assert after.train.table.cache_path != before.train.table.cache_path
    assert fingerprint(after) != fingerprint(before)
    assert fingerprint(load(f"images:{root}?stream=yes")) == fingerprint(after)  # same files, cache or not


def test_a_request_larger_than_the_memory_cap_is_refused_before_decoding(tmp_path):
    data = load(f"images:{colour_folder(tmp_path / 'pics')}?stream=yes")
    rows = data.train.tensors[0]
    with limits.override(memory="2KB"):  # one 3x10x12 float32 image is 1,440 bytes
        assert rows[:1].shape == (1, 3, 10, 12)
        with pytest.raises(DataError, match=r"2 streamed images of 3x10x12 .* would need 2\.8 KiB"):
            rows[:2]


def test_a_table_with_open_maps_pickles_without_them(tmp_path):
    data = load(f"images:{colour_folder(tmp_path / 'pics')}?cache=yes")
    first = data.train[0][0]
    assert data.train.table._maps is not None
    copy = pickle.loads(pickle.dumps(data.train))  # what a spawned DataLoader worker receives
    assert copy.table._maps is None and torch.equal(copy[0][0], first)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("stream=maybe", r"`stream` must be a value of type _choice"),
        ("cache=yes&stream=no", r"`cache=yes` caches streamed images; it cannot go with `stream=no`"),
        ("strem=yes", r"Unknown images option 'strem' in the data spec\. Did you mean 'stream'\?"),
    ],
)
def test_bad_stream_settings_are_refused(tmp_path, query, message):
    root = colour_folder(tmp_path / "pics", per_class=3)
    with pytest.raises((DataError, InvalidArgumentError), match=message):
        load(f"images:{root}?{query}")


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 10 * 12, 2))


@pytest.mark.parametrize("workers", ["0", "2"])
def test_training_on_a_streamed_folder_matches_the_in_memory_run(tmp_path, monkeypatch, workers):
    monkeypatch.setenv("DEEPSCOPE_WORKERS", workers)
    root = colour_folder(tmp_path / "pics")
    settings = {"epochs": 3, "batch_size": 8, "lr": 0.05, "optimizer": "sgd", "progress": False}
    in_memory = fit(_net(), load(f"images:{root}"), out=tmp_path / "memory", **settings)
    with limits.override(memory="32KB"):  # the folder (43 KiB as float32) no longer fits: auto streams
        data = load(f"images:{root}")
        assert isinstance(data.train, ImageFiles)
        streamed = fit(_net(), data, out=tmp_path / "streamed", **settings)
        for key, value in in_memory.model.state_dict().items():
            assert torch.allclose(streamed.model.state_dict()[key], value, atol=1e-6), key
        scores = streamed.evaluate().accuracy, in_memory.evaluate().accuracy
        assert scores[0] == scores[1] >= 0.8
    with warnings.catch_warnings():  # a changed fingerprint would warn
        warnings.simplefilter("error")
        reopened = runs.open_run(tmp_path / "streamed", model=_net())  # streamed again, though it fits now
    assert isinstance(reopened.data.test, ImageFiles) and reopened.evaluate().accuracy == scores[0]


def test_a_file_that_breaks_after_listing_stops_training_with_its_name(tmp_path):
    root = colour_folder(tmp_path / "pics")
    data = load(f"images:{root}?stream=yes")
    victim = root / "b" / "03.png"
    victim.write_bytes(b"not a png any more")
    with pytest.raises(DataError, match=r"03\.png"):
        fit(_net(), data, out=tmp_path / "run", epochs=1, batch_size=8, progress=False)


_PEAK_SCRIPT = """
import re, sys, tempfile
import torch
from torch import nn
from deepscope.data import load
from deepscope.train import fit

from deepscope.data import from_arrays

def peak():  # this process's own high-water RSS in bytes (ru_maxrss would keep the forking parent's)
    return int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)) * 1024

torch.manual_seed(0)
net = nn.Sequential(nn.Conv2d(3, 4, 3, stride=4), nn.Flatten(), nn.Linear(4 * 16 * 16, 2))
small = from_arrays(torch.rand(64, 3, 64, 64), torch.arange(64) % 2)
with tempfile.TemporaryDirectory() as out:  # imports, allocator and kernels warmed up before the baseline
    fit(net, small, out=out + "/warm", epochs=1, batch_size=32, progress=False)
before = peak()
data = load(sys.argv[1])
with tempfile.TemporaryDirectory() as out:
    fit(net, data, out=out + "/run", epochs=1, batch_size=32, progress=False)
print(peak() - before)
"""


def _peak_growth(spec: str, tmp_path: Path) -> int:
    """How far a fresh process's peak RSS grows while it loads ``spec`` and trains an epoch."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "DEEPSCOPE_WORKERS": "0", "DEEPSCOPE_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [sys.executable, "-c", _PEAK_SCRIPT, spec], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return int(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads VmHWM from /proc (Linux)")
def test_streaming_keeps_peak_memory_far_below_the_folder(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "big"
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        for i in range(600):  # 1,200 x 3 x 64 x 64 float32 = 56 MiB in memory
            Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(root / name / f"{i}.png")
    whole = 1200 * 3 * 64 * 64 * 4
    in_memory = _peak_growth(f"images:{root}?stream=no", tmp_path)
    streamed = _peak_growth(f"images:{root}?stream=yes", tmp_path)
    assert in_memory > whole  # the measure sees the whole folder when it is held
    assert streamed < whole / 3, (streamed, in_memory)  # a few batches (9 MiB measured), not the folder
