"""Kill training at every filesystem step and resume: the result is bit-identical.

A forked child trains a small model and ``os._exit``s (no cleanup, no ``finally``: a kill)
at the n-th event, where the events are every ``os.replace`` (each atomic file write and
each folder rename) and every step of ``train.checkpoint`` (each file written, each entry
removed). The parent then does what a user would: ``--resume`` when the folder has a
config, else start again with the same ``--out``; and compares with the uninterrupted run.
"""

from __future__ import annotations

import os
import sys

import pytest
import torch

from deepscope import zoo
from deepscope.train import checkpoint, fit

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin", reason="needs os.fork")

SETTINGS = dict(epochs=3, batch_size=256, schedule="onecycle", lr=0.02, patience=None, progress=False)


def _model(data):
    return zoo.create("softmax_regression", data=data, seed=0)


def _count_events(monkeypatch, data, out) -> int:
    count = [0]

    def event(*_):
        count[0] += 1

    real_replace = os.replace
    monkeypatch.setattr(checkpoint, "_kill_point", event)
    monkeypatch.setattr(os, "replace", lambda a, b: (event(), real_replace(a, b))[1])
    fit(_model(data), data, out=out, **SETTINGS)
    monkeypatch.undo()
    return count[0]


def _train_and_die_at(n: int, data, out) -> int:
    """Fork; the child trains and dies at event ``n``. Returns the child's exit code."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            count = [0]

            def event(*_):
                count[0] += 1
                if count[0] == n:
                    os._exit(99)

            real_replace = os.replace
            checkpoint._kill_point = event
            os.replace = lambda a, b: (event(), real_replace(a, b))[1]
            fit(_model(data), data, out=out, **SETTINGS)
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


@pytest.fixture(scope="module")
def small(digits):
    from deepscope.data import from_arrays

    x, y = digits.train.tensors
    tx, ty = digits.test.tensors
    return from_arrays(x[:400].numpy(), y[:400].numpy(), x_test=tx[:100].numpy(), y_test=ty[:100].numpy(), name="d")


def test_a_kill_at_any_step_resumes_to_the_bit_identical_result(small, tmp_path, monkeypatch):
    torch.set_num_threads(1)  # the same arithmetic in the forked children (an OpenMP pool does not survive fork)
    whole = fit(_model(small), small, out=tmp_path / "whole", **SETTINGS)
    events = _count_events(monkeypatch, small, tmp_path / "counted")
    assert events >= 3 * 10  # every epoch: weights, optimizer, RNG, state, renames, removals
    for n in range(1, events + 1):
        out = tmp_path / f"kill-{n:03d}"
        assert _train_and_die_at(n, small, out) == 99, f"the child did not reach event {n}"
        if (out / "config.json").is_file():
            resumed = fit(_model(small), small, out=out, resume=True, **SETTINGS)
        else:  # killed before its config was written: start again with the same --out
            resumed = fit(_model(small), small, out=out, **SETTINGS)
        for key, value in whole.model.state_dict().items():
            assert torch.equal(value, resumed.model.state_dict()[key]), f"event {n}: {key} differs"
        assert [h["val_loss"] for h in resumed.history] == [h["val_loss"] for h in whole.history], f"event {n}"
        assert (out / "model.safetensors").read_bytes() == (whole.path / "model.safetensors").read_bytes()
        assert not (out / "last.old").exists() and not (out / "last.tmp").exists(), f"event {n}: garbage left"
