"""Data-parallel training with torch.distributed: 2 processes on this CPU (gloo) against one
process with the same global batch; a killed rank stops the job and --resume continues it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from deepscope import runs
from deepscope.train.distributed import Group
from deepscope.train.loop import _batches

SRC = Path(__file__).resolve().parents[2] / "src"
TIMEOUT = 300  # a hung collective must fail the test, not the suite


def _env() -> dict[str, str]:
    env = dict(
        os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])
    )
    env.pop("WORLD_SIZE", None)
    return env


def _deepscope(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "deepscope", *argv], env=_env(), capture_output=True, text=True, timeout=TIMEOUT
    )


TRAIN = ["train", "lecture_cnn", "--data", "digits", "--epochs", "3", "--batch-size", "64", "--no-report", "--quiet"]


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    runs_dir = tmp_path_factory.mktemp("ddp")
    done = _deepscope(*TRAIN, "--nproc", "2", "--runs-dir", str(runs_dir))
    assert done.returncode == 0, done.stderr[-3000:]
    return runs_dir, done


def test_two_gloo_processes_write_one_run_that_matches_one_process(two_processes, tmp_path):
    runs_dir, done = two_processes
    folders = [p for p in runs_dir.iterdir() if p.is_dir()]
    assert len(folders) == 1 and done.stdout.count("Run folder:") == 1  # rank 0 alone writes and prints
    config = json.loads((folders[0] / "config.json").read_text())
    assert config["processes"] == 2 and config["recipe"]["batch_size"] == 64  # the global batch
    runs.train("lecture_cnn", "digits", epochs=3, batch_size=64, out=tmp_path / "one", progress=False)  # `TRAIN`
    one, two = load_file(str(tmp_path / "one" / "model.safetensors")), load_file(str(folders[0] / "model.safetensors"))
    # the same steps on the same global batches: equal up to the order of float additions
    assert max(float((one[k] - two[k]).abs().max()) for k in one) < 1e-5
    history = [(folders[0] / "history.csv").read_text(), (tmp_path / "one" / "history.csv").read_text()]
    val = [[float(line.split(",")[4]) for line in h.splitlines()[1:]] for h in history]
    assert val[0] == pytest.approx(val[1], abs=1e-9)


_DIE = """
import os, sys
from deepscope import runs
from deepscope.train import Callback

class Die(Callback):
    def on_batch_end(self, state, step, loss):
        if state.epoch == 1 and step == 3 and os.environ["RANK"] == "1":
            os._exit(3)  # rank 1 dies in the middle of epoch 2

runs.train("lecture_cnn", "digits", epochs=3, batch_size=64, out=sys.argv[1], progress=False, callbacks=[Die()])
"""


@pytest.mark.slow
def test_a_killed_rank_stops_the_job_and_resume_continues_it_exactly(two_processes, tmp_path):
    script = tmp_path / "die.py"
    script.write_text(_DIE)
    out = tmp_path / "run"
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2"]
    died = subprocess.run([*launch, str(script), str(out)], env=_env(), capture_output=True, text=True, timeout=TIMEOUT)
    assert died.returncode != 0 and "exitcode  : 3" in died.stderr  # torchrun names the dead rank's exit
    assert json.loads((out / "last" / "state.json").read_text())["epoch"] == 1  # epoch 1 is kept
    resumed = _deepscope("train", "--resume", str(out), "--nproc", "2", "--quiet", "--no-report")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    runs_dir, _ = two_processes
    whole = load_file(str(next(p for p in runs_dir.iterdir() if p.is_dir()) / "model.safetensors"))
    again = load_file(str(out / "model.safetensors"))
    assert all(torch.equal(whole[k], again[k]) for k in whole)  # as if it had never died


def test_bad_settings_fail_before_any_process_is_launched(tmp_path, capsys):
    from deepscope.cli import main

    assert main([*TRAIN, "--nproc", "2", "--out", str(tmp_path / "r"), "--lr", "-1"]) == 2
    assert "`lr` must be a finite float > 0" in capsys.readouterr().err and not (tmp_path / "r").exists()
    assert main([*TRAIN, "--nproc", "2", "--nnodes", "2"]) == 2
    assert "`--rdzv-endpoint` must be HOST:PORT where the machines meet" in capsys.readouterr().err


@pytest.mark.slow
def test_a_launch_that_fails_in_its_processes_says_how_to_resume(tmp_path):
    failed = _deepscope(*TRAIN, "--nproc", "2", "--data", f"images:{tmp_path / 'missing'}")
    assert failed.returncode != 0 and "--resume RUN --nproc 2" in failed.stderr


def test_each_process_takes_every_other_sample_of_the_global_batch():
    x, y = torch.arange(10.0).unsqueeze(1), torch.arange(10)
    split = torch.utils.data.TensorDataset(x, y)
    whole = [b[1].tolist() for b in _batches(split, 4, torch.Generator().manual_seed(0))]
    parts = [
        [b[1].tolist() for b in _batches(split, 4, torch.Generator().manual_seed(0), Group(rank=r, world_size=2))]
        for r in (0, 1)
    ]
    assert [sorted(a + b) for a, b in zip(*parts)] == [sorted(b) for b in whole]  # together: the same batches
    three = [b[1].tolist() for b in _batches(split, 3, None, Group(rank=2, world_size=3))]
    assert three == [[2], [5], [8]]  # the last batch (1 sample, fewer than 3 processes) is dropped
