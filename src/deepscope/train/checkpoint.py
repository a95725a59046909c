"""The resume checkpoint ``last/`` of a run folder, crash-safe at every step.

Protocol (every step below may be the last one before a kill; the folder stays resumable):

1. ``last.tmp/`` is removed (garbage of an earlier crash) and written afresh: weights,
   optimizer, RNG, then ``state.json`` last, so a ``state.json`` marks a complete checkpoint;
2. a ``last.old/`` beside a complete ``last/`` is garbage of a crash during step 5: removed;
3. ``last/`` is renamed to ``last.old/``;
4. ``last.tmp/`` is renamed to ``last/``;
5. ``last.old/`` is removed.

At any point, :func:`last_checkpoint` finds the newest complete checkpoint: ``last/`` when it
holds a ``state.json``, else ``last.old/`` (a crash between steps 3 and 4), else none (no
epoch completed). Every command that reads a checkpoint goes through it. Renames and removals
are atomic on one filesystem; ``tests/train/test_crash_safety.py`` kills a training process
between every filesystem step (and inside every removal) and checks that resuming gives the
bit-identical result of the uninterrupted run.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from deepscope.errors import RunError
from deepscope.train.files import (
    load_optimizer,
    load_tensors,
    read_json,
    save_optimizer,
    save_tensors,
    write_json,
)

__all__ = ["last_checkpoint", "load_checkpoint", "remove_tree", "save_checkpoint", "tidy"]

LAST, TMP, OLD = "last", "last.tmp", "last.old"


def _kill_point(name: str) -> None:
    """Called between filesystem steps; a no-op. The crash-safety test replaces it with a
    function that kills the process at the n-th call."""


def remove_tree(path: Path) -> None:
    """Remove a folder one entry at a time (files first, then the folder), so that a kill in
    the middle leaves a partly removed folder, which the protocol treats as garbage."""
    if not path.exists() and not path.is_symlink():
        return
    if path.is_symlink() or not path.is_dir():
        path.unlink()
        _kill_point(f"unlink {path.name}")
        return
    for child in sorted(path.iterdir()):
        remove_tree(child)
    path.rmdir()
    _kill_point(f"rmdir {path.name}")


def last_checkpoint(run: Path) -> Path | None:
    """The folder of the newest complete checkpoint of run folder ``run``, or None when no
    epoch was completed. Every reader of checkpoints goes through this function."""
    run = Path(run)
    for name in (LAST, OLD):  # last.old/ counts only when a crash came between its two renames
        folder = run / name
        if (folder / "state.json").is_file() and (name == LAST or not (run / LAST / "state.json").is_file()):
            return folder
    return None


def tidy(run: Path) -> None:
    """Remove what a crash may have left: ``last.tmp/``, and ``last.old/`` beside a complete ``last/``."""
    run = Path(run)
    remove_tree(run / TMP)
    if (run / LAST / "state.json").is_file():
        remove_tree(run / OLD)


def save_checkpoint(
    run: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, schedule: Any, state: dict[str, Any]
) -> None:
    """Write everything needed to continue exactly (weights, optimizer, schedule, RNG and the
    JSON ``state``) as ``run/last/``, by the protocol in the module docstring."""
    run = Path(run)
    tmp, last, old = run / TMP, run / LAST, run / OLD
    remove_tree(tmp)
    save_tensors(tmp / "model.safetensors", model.state_dict())
    _kill_point("model written")
    optimizer_rest = save_optimizer(tmp / "optimizer.safetensors", optimizer)
    _kill_point("optimizer written")
    save_tensors(tmp / "rng.safetensors", rng_states())
    _kill_point("rng written")
    write_json(
        tmp / "state.json",
        {**state, "optimizer": optimizer_rest, "schedule": schedule.state_dict() if schedule is not None else None},
    )
    _kill_point("state written")
    if (last / "state.json").is_file():
        remove_tree(old)  # garbage of a crash while it was being removed
        os.replace(last, old)
        _kill_point("last -> last.old")
    else:
        remove_tree(last)  # an incomplete last/ (never written by this protocol; tampered): not needed
    os.replace(tmp, last)
    _kill_point("last.tmp -> last")
    remove_tree(old)


def load_checkpoint(
    run: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, schedule: Any, *, schema: Any
) -> dict[str, Any] | None:
    """Restore model, optimizer, schedule and RNG from the newest complete checkpoint of ``run``;
    return its state (checked by ``schema(state, where)``), or None when no epoch completed."""
    tidy(run)
    folder = last_checkpoint(run)
    if folder is None:
        return None
    state = schema(read_json(folder / "state.json"), folder / "state.json")
    what = f"Cannot resume {run}"
    try:
        model.load_state_dict(load_tensors(folder / "model.safetensors"))
    except RuntimeError as error:
        raise RunError(f"{what}: its weights do not fit this model ({str(error).splitlines()[0]}).") from None
    load_optimizer(folder / "optimizer.safetensors", optimizer, state["optimizer"], where=what)
    if schedule is not None and state["schedule"] is not None:
        try:
            schedule.load_state_dict(state["schedule"])
        except (KeyError, TypeError, ValueError) as error:
            raise RunError(f"{what}: its schedule state is damaged ({error}).") from None
    rng = load_tensors(folder / "rng.safetensors").get("torch")
    expected = torch.get_rng_state()
    if rng is None or rng.dtype != torch.uint8 or rng.shape != expected.shape:
        raise RunError(
            f"{what}: {folder / 'rng.safetensors'} must hold the CPU RNG state "
            f"(uint8, {tuple(expected.shape)}). Received: "
            f"{None if rng is None else (str(rng.dtype), tuple(rng.shape))}."
        )
    try:
        torch.set_rng_state(rng)
        _set_cuda_rng(load_tensors(folder / "rng.safetensors").get("cuda"))
    except RuntimeError as error:
        raise RunError(f"{what}: its RNG state is damaged ({error}).") from None
    return state


def rng_states() -> dict[str, torch.Tensor]:
    """The CPU RNG state and, once CUDA is in use, every GPU's (stacked (GPUs, S)): dropout
    and augmentation on a GPU draw from the GPU's generator."""
    states = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.stack(torch.cuda.get_rng_state_all())
    return states


def _set_cuda_rng(saved: torch.Tensor | None) -> None:
    """Restore the GPUs' RNG states saved by :func:`rng_states`, for as many GPUs as both
    machines have; a run saved on a GPU and resumed on a CPU has none to restore (that resume
    is not bit-exact anyway: the kernels differ)."""
    if saved is None or not torch.cuda.is_available():
        return
    if saved.dtype != torch.uint8 or saved.ndim != 2:
        raise RuntimeError(f"the GPU RNG states must be uint8 (GPUs, S); found {saved.dtype} {tuple(saved.shape)}")
    for index in range(min(len(saved), torch.cuda.device_count())):
        torch.cuda.set_rng_state(saved[index], device=index)
