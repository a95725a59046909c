"""``fit``: mini-batch gradient descent on any ``nn.Module`` and any Dataset.

The loop is deliberately the hand-written PyTorch loop (forward, loss, backward, step) plus
bookkeeping done once per epoch, so it costs no more than writing it yourself
(``benchmarks/trainer_overhead.py`` measures this).
"""

from __future__ import annotations

import math
import os
import platform
import shutil
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from deepscope.data import Dataset
from deepscope.data.augment import make_augment
from deepscope.errors import RunError, TrainingDivergedError, invalid
from deepscope.recipe import Recipe
from deepscope.train.callbacks import Callback, ProgressBar, TrainState
from deepscope.train.files import (
    load_optimizer,
    load_tensors,
    read_json,
    save_optimizer,
    save_tensors,
    write_json,
    write_text,
)
from deepscope.train.optim import make_optimizer, make_schedule
from deepscope.train.run import FORMAT_VERSION, Run, check_run_folder, next_run_dir
from deepscope.train.tasks import Task, make_task

__all__ = ["fit"]


def fit(
    model: nn.Module,
    data: Dataset,
    recipe: Recipe | None = None,
    *,
    out: str | Path | None = None,
    runs_dir: str | Path = "runs",
    resume: bool = False,
    callbacks: Sequence[Callback] = (),
    progress: bool = True,
    **overrides: Any,
) -> Run:
    """Train ``model`` on ``data.train``, validating on ``data.val`` after every epoch.

    ``recipe`` fields (epochs, batch_size, optimizer, lr, schedule, patience, seed, ...) can
    be overridden by keyword. The run folder is ``out`` or the next ``runs_dir/<model>-<data>-<n>``;
    it receives ``config.json``, ``model.safetensors`` (best by ``recipe.monitor``), ``last/``
    (everything needed to resume exactly) and ``history.csv``, each written atomically.
    ``resume=True`` continues the run in ``out`` from its last completed epoch, reproducing
    the uninterrupted result on CPU. On return, ``run.model`` holds the best weights.
    """
    if not isinstance(model, nn.Module):
        raise invalid("model", "a torch.nn.Module", type(model).__name__)
    if not isinstance(data, Dataset):
        raise invalid("data", "a deepscope Dataset (see deepscope.data.load)", type(data).__name__)
    recipe = (recipe or Recipe()).with_overrides(**overrides)
    if not isinstance(recipe.epochs, int) or recipe.epochs < 1:
        raise invalid("epochs", "a positive int", recipe.epochs)
    if not isinstance(recipe.batch_size, int) or recipe.batch_size < 1:
        raise invalid("batch_size", "a positive int", recipe.batch_size)
    task = make_task(data.task)
    monitor = recipe.monitor if len(data.val) else recipe.monitor.removeprefix("val_")
    metric = monitor.removeprefix("val_")
    if metric not in task.higher_is_better:
        valid = [f"val_{m}" for m in task.higher_is_better]
        raise invalid("monitor", f"one of {valid}", recipe.monitor)
    higher = task.higher_is_better[metric]

    steps_per_epoch = math.ceil(len(data.train) / recipe.batch_size)
    optimizer = make_optimizer(
        recipe.optimizer, model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay, momentum=recipe.momentum
    )
    schedule = make_schedule(
        recipe.schedule, optimizer, lr=recipe.lr, epochs=recipe.epochs, steps_per_epoch=steps_per_epoch
    )
    augment = make_augment(recipe.augment, data.kind)

    if resume:
        if out is None:
            raise invalid("out", "the run folder to resume", out)
        path = Path(out)
        saved = _load_last(path, model, optimizer, schedule, recipe)
    else:
        path = _new_run_folder(out, runs_dir, model, data)
        torch.manual_seed(recipe.seed)
        saved = {"epoch": 0, "history": [], "best": None, "best_epoch": 0, "bad_epochs": 0}
        write_json(path / "config.json", _config(model, data, recipe))
        for name, content in data.files.items():  # e.g. a text vocabulary, so the run can predict on raw text
            write_json(path / name, content)

    state = TrainState(
        model=model,
        out=path,
        epochs=recipe.epochs,
        steps_per_epoch=steps_per_epoch,
        epoch=saved["epoch"],
        history=saved["history"],
    )
    best, best_epoch, bad_epochs = saved["best"], saved["best_epoch"], saved["bad_epochs"]
    all_callbacks = [*callbacks, *([ProgressBar()] if progress else [])]
    if state.epoch < recipe.epochs:
        for cb in all_callbacks:
            cb.on_fit_start(state)
    try:
        while state.epoch < recipe.epochs and not state.stop:
            epoch = state.epoch + 1
            started = time.perf_counter()
            train_logs = _train_epoch(
                model, task, optimizer, schedule, data.train, recipe, epoch, augment, state, all_callbacks
            )
            train_seconds = time.perf_counter() - started
            val_logs = _evaluate_loss(model, task, data.val, recipe.batch_size) if len(data.val) else {}
            logs = {
                "epoch": epoch,
                **train_logs,
                **{f"val_{k}": v for k, v in val_logs.items()},
                "lr": optimizer.param_groups[0]["lr"],
                "time": time.perf_counter() - started,
                "samples_per_s": len(data.train) / max(train_seconds, 1e-9),
            }
            state.epoch = epoch
            state.history.append(logs)
            value = logs[monitor]
            if best is None or (value > best if higher else value < best):
                best, best_epoch, bad_epochs = value, epoch, 0
                save_tensors(path / "model.safetensors", model.state_dict())
            else:
                bad_epochs += 1
            if recipe.patience and bad_epochs >= recipe.patience:
                state.stop = True
            _save_last(path, model, optimizer, schedule, state, best, best_epoch, bad_epochs)
            for cb in all_callbacks:
                cb.on_epoch_end(state, logs)
    finally:
        for cb in all_callbacks:
            cb.on_fit_end(state)
    model.load_state_dict(load_tensors(path / "model.safetensors"))
    return Run(path=path, model=model, data=data, config=read_json(path / "config.json"), history=state.history)


def _new_run_folder(out: str | Path | None, runs_dir: str | Path, model: nn.Module, data: Dataset) -> Path:
    if out is None:
        name = getattr(model, "zoo_config", {}).get("name", type(model).__name__.lower())
        return next_run_dir(Path(runs_dir), name, data.name)
    path = Path(out)
    if path.exists() and any(path.iterdir()):
        raise RunError(f"Run folder {path} already exists and is not empty; choose another --out or --resume it.")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _config(model: nn.Module, data: Dataset, recipe: Recipe) -> dict[str, Any]:
    import numpy

    from deepscope import __version__

    zoo_config = getattr(model, "zoo_config", None)
    return {
        "format": FORMAT_VERSION,
        "deepscope_version": __version__,
        "model": zoo_config or {"name": None, "class": f"{type(model).__module__}.{type(model).__qualname__}"},
        "data": data.describe(),
        "recipe": recipe.to_dict(),
        "parameters": sum(p.numel() for p in model.parameters()),
        "versions": {"python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _batches(
    split: TensorDataset, batch_size: int, generator: torch.Generator | None
) -> Iterator[tuple[torch.Tensor, ...]]:
    """Mini-batches of an in-memory split (fast path: one index per batch) or of any
    torch Dataset (DataLoader). ``generator`` shuffles; None keeps the order."""
    if isinstance(split, TensorDataset):
        x, y = split.tensors
        order = torch.randperm(len(x), generator=generator) if generator is not None else None
        for start in range(0, len(x), batch_size):
            if order is None:
                yield x[start : start + batch_size], y[start : start + batch_size]
            else:
                idx = order[start : start + batch_size]
                yield x[idx], y[idx]
    else:
        yield from DataLoader(split, batch_size=batch_size, shuffle=generator is not None, generator=generator)


def _train_epoch(
    model,
    task: Task,
    optimizer,
    schedule,
    split,
    recipe: Recipe,
    epoch: int,
    augment,
    state: TrainState,
    callbacks: Sequence[Callback],
) -> dict[str, float]:
    model.train()
    # The data order depends only on (seed, epoch): a resumed run sees the same batches.
    generator = torch.Generator().manual_seed(recipe.seed * 100_003 + epoch)
    loss_sum, count, sums = 0.0, 0, {}
    for step, (xb, yb) in enumerate(_batches(split, recipe.batch_size, generator), start=1):
        if augment is not None:
            xb = augment(xb, generator)
        output = model(xb)
        loss = task.loss(output, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if schedule is not None:
            schedule.step()
        value = loss.item()
        if not math.isfinite(value):
            raise TrainingDivergedError(
                f"The loss became {value} at epoch {epoch}, step {step}; training stopped. The last good "
                f"checkpoint is kept in {state.out}. Try a lower learning rate (lr={recipe.lr})."
            )
        loss_sum += value * len(yb)
        count += len(yb)
        with torch.no_grad():
            for key, total in task.batch_sums(output.detach(), yb).items():
                sums[key] = sums.get(key, 0) + total
        for cb in callbacks:
            cb.on_batch_end(state, step, value)
    return {"loss": loss_sum / max(count, 1), **{k: float(v) / max(count, 1) for k, v in sums.items()}}


@torch.inference_mode()
def _evaluate_loss(model: nn.Module, task: Task, split, batch_size: int) -> dict[str, float]:
    model.eval()
    loss_sum, count, sums = 0.0, 0, {}
    for xb, yb in _batches(split, max(batch_size, 256), None):
        output = model(xb)
        loss_sum += float(task.loss(output, yb)) * len(yb)
        count += len(yb)
        for key, total in task.batch_sums(output, yb).items():
            sums[key] = sums.get(key, 0) + total
    model.train()
    return {"loss": loss_sum / max(count, 1), **{k: float(v) / max(count, 1) for k, v in sums.items()}}


def _save_last(
    path: Path, model, optimizer, schedule, state: TrainState, best, best_epoch: int, bad_epochs: int
) -> None:
    """Everything needed to continue exactly: weights, optimizer, schedule, RNG, history.
    Written into last.tmp/ and swapped in by renames, so last/ (or, after a crash between
    the two renames, last.old/) always holds one complete epoch."""
    tmp, last, old = path / "last.tmp", path / "last", path / "last.old"
    shutil.rmtree(tmp, ignore_errors=True)
    save_tensors(tmp / "model.safetensors", model.state_dict())
    optimizer_rest = save_optimizer(tmp / "optimizer.safetensors", optimizer)
    save_tensors(tmp / "rng.safetensors", {"torch": torch.get_rng_state()})
    write_json(
        tmp / "state.json",
        {
            "epoch": state.epoch,
            "history": state.history,
            "best": best,
            "best_epoch": best_epoch,
            "bad_epochs": bad_epochs,
            "optimizer": optimizer_rest,
            "schedule": schedule.state_dict() if schedule is not None else None,
        },
    )
    if last.exists():
        os.replace(last, old)
    os.replace(tmp, last)
    shutil.rmtree(old, ignore_errors=True)
    _write_history(path / "history.csv", state.history)


def _load_last(path: Path, model, optimizer, schedule, recipe: Recipe) -> dict[str, Any]:
    config = check_run_folder(path)
    if config.get("recipe") != recipe.to_dict():
        raise RunError(
            f"Cannot resume {path}: its recipe differs from this one. Saved: {config.get('recipe')}. "
            f"Given: {recipe.to_dict()}."
        )
    last = path / "last"
    if not last.is_dir() and (path / "last.old").is_dir():  # crashed between the two renames
        last = path / "last.old"
    if not (last / "state.json").is_file():
        raise RunError(f"Cannot resume {path}: it has no completed epoch (no last/state.json).")
    saved = read_json(last / "state.json")
    try:
        model.load_state_dict(load_tensors(last / "model.safetensors"))
    except RuntimeError as error:
        raise RunError(
            f"Cannot resume {path}: its weights do not fit this model ({str(error).splitlines()[0]})."
        ) from None
    load_optimizer(last / "optimizer.safetensors", optimizer, saved["optimizer"])
    if schedule is not None and saved["schedule"] is not None:
        schedule.load_state_dict(saved["schedule"])
    torch.set_rng_state(load_tensors(last / "rng.safetensors")["torch"])
    return saved


def _write_history(path: Path, history: list[dict[str, float]]) -> None:
    if not history:
        return
    keys = list(history[0])
    lines = [",".join(keys)] + [",".join(repr(row.get(k, "")) for k in keys) for row in history]
    write_text(path, "\n".join(lines) + "\n")
