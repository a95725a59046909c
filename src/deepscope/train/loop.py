"""``fit``: mini-batch gradient descent on any ``nn.Module`` and any Dataset.

The loop is deliberately the hand-written PyTorch loop (forward, loss, backward, step) plus
bookkeeping done once per epoch, so it costs no more than writing it yourself
(``benchmarks/trainer_overhead.py`` measures this).
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from deepscope.data import Dataset
from deepscope.data.augment import resolve_policy
from deepscope.data.stream import BatchReader, is_streamed, unit
from deepscope.errors import RunError, TrainingDivergedError, TrainingInterrupted, UnknownNameError, invalid
from deepscope.recipe import Recipe
from deepscope.train.callbacks import Callback, ProgressBar, TrainState
from deepscope.train.checkpoint import last_checkpoint, load_checkpoint, remove_tree, save_checkpoint
from deepscope.train.devices import Speed, resolve_speed
from deepscope.train.distributed import Group, current_group, launched_by_torchrun
from deepscope.train.features import extract_features, head_of
from deepscope.train.files import load_tensors, read_json, save_tensors, write_json, write_text
from deepscope.train.finetune import freeze_norms, layer_groups, phase_schedule, set_frozen
from deepscope.train.optim import SCHEDULES, make_optimizer, make_schedule
from deepscope.train.run import FORMAT_VERSION, Run, check_run_folder, fingerprint, next_run_dir
from deepscope.train.schema import check_state
from deepscope.train.tasks import Task, resolve_task

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
    device: str | torch.device | None = "auto",
    precision: str = "auto",
    compile: bool | str = "auto",
    channels_last: bool | str = "auto",
    **overrides: Any,
) -> Run:
    """Train ``model`` on ``data.train``, validating on ``data.val`` after every epoch.

    ``recipe`` defaults to the model's own (``model.default_recipe``, which ``zoo.create``
    sets to the entry's recipe), else the generic :class:`Recipe`; its fields (epochs,
    batch_size, optimizer, lr, schedule, patience, seed, ...) can be overridden by keyword.
    The run folder is ``out`` or the next ``runs_dir/<model>-<data>-<n>``; it receives
    ``config.json`` (with the data's split settings and fingerprint), ``model.safetensors``
    (best by ``recipe.monitor``, or the last epoch's with ``keep='last'``), ``last/`` (everything needed to resume exactly, see
    ``train.checkpoint``) and ``history.csv``, each written atomically.
    ``resume=True`` continues the run in ``out`` from its last completed epoch (from the start
    when none was completed; not at all when it finished or stopped early), reproducing the
    uninterrupted result on CPU. On return, ``run.model`` holds the best weights (on the
    training device). Ctrl-C raises :class:`~deepscope.errors.TrainingInterrupted`, whose
    message names the folder.

    ``device`` ('auto': a GPU if there is one), ``precision`` ('fp32', 'bf16', 'fp16' autocast),
    ``compile`` and ``channels_last`` say where and how fast to train; 'auto' turns an option on
    only where it was measured to pay (``deepscope.train.devices``). They are not part of the
    recipe: a run resumes on any device, and its folder never depends on one.
    """
    if not isinstance(model, nn.Module):
        raise invalid("model", "a torch.nn.Module", type(model).__name__)
    if not isinstance(data, Dataset):
        raise invalid("data", "a deepscope Dataset (see deepscope.data.load)", type(data).__name__)
    if recipe is not None and not isinstance(recipe, Recipe):
        raise invalid("recipe", "a deepscope Recipe or None", type(recipe).__name__)
    own = getattr(model, "default_recipe", None)
    recipe = (recipe or (own if isinstance(own, Recipe) else Recipe())).with_overrides(**overrides)
    task = resolve_task(model, data)  # the model's own task (an autoencoder's, a GAN's) or the data's
    monitor = recipe.monitor if len(data.val) else recipe.monitor.removeprefix("val_")
    metric = monitor.removeprefix("val_")
    if metric not in task.higher_is_better:
        valid = [f"val_{m}" for m in task.higher_is_better]
        raise invalid("monitor", f"one of {valid}", recipe.monitor)
    if not len(data.train):
        raise invalid("data", "a dataset with training samples", repr(data))
    if data.task == "contrastive" and recipe.batch_size % 2:
        raise invalid(
            "batch_size", "an even number for contrastive data (a pair of views stays in one batch)", recipe.batch_size
        )
    higher = task.higher_is_better[metric]
    if launched_by_torchrun() and device in (None, "auto") and torch.cuda.is_available():
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"  # one GPU per process
    speed = resolve_speed(model, device, precision=precision, compile=compile, channels_last=channels_last)
    group = current_group(torch.device(speed.device).type)  # several processes when started by torchrun
    if group.active and not task.distributed:
        raise RunError(
            f"The {task.name} task trains in one process: its networks step separately, outside the gradient "
            f"averaging of DistributedDataParallel. Start it without torchrun/--nproc."
        )
    model.to(torch.device(speed.device))  # before the optimizer and its saved state are loaded
    if speed.channels_last:
        model.to(memory_format=torch.channels_last)

    steps_per_epoch = math.ceil(len(data.train) / recipe.batch_size)
    groups, backbone = _param_groups(model, recipe)
    optimizer = make_optimizer(
        recipe.optimizer, groups, lr=recipe.lr, weight_decay=recipe.weight_decay, momentum=recipe.momentum
    )
    if 0 < recipe.freeze_epochs < recipe.epochs:
        if recipe.schedule not in SCHEDULES:
            raise UnknownNameError("schedule", recipe.schedule, SCHEDULES)
        schedule = phase_schedule(
            recipe.schedule,
            optimizer,
            first_steps=recipe.freeze_epochs * steps_per_epoch,
            second_steps=(recipe.epochs - recipe.freeze_epochs) * steps_per_epoch,
        )
    else:
        schedule = make_schedule(
            recipe.schedule, optimizer, lr=recipe.lr, epochs=recipe.epochs, steps_per_epoch=steps_per_epoch
        )
    policy = resolve_policy(recipe.augment, data)  # 'auto' resolved once per run, recorded in config.json
    augment = policy if policy else None

    saved = None
    if resume:
        if out is None:
            raise invalid("out", "the run folder to resume", out)
        path = Path(out)
        _check_resumable(path, data, recipe)
        for turn in (True, False):  # rank 0 first (it tidies what a crash left), then the others
            if group.is_main == turn:
                saved = load_checkpoint(path, model, optimizer, schedule, schema=check_state)
            group.barrier()
    else:
        path = None
        if group.is_main:  # one run folder, written by rank 0 only
            path = _new_run_folder(out, runs_dir, model, data)
            write_json(path / "config.json", _config(model, data, recipe, policy, speed, group, task))
            for name, content in data.files.items():  # e.g. a text vocabulary, so the run can predict on raw text
                write_json(path / name, content)
        path = group.broadcast(path)
    if saved is None:  # a new run, or one resumed before its first epoch was completed
        torch.manual_seed(recipe.seed)
        saved = {"epoch": 0, "history": [], "best": None, "best_epoch": 0, "bad_epochs": 0, "stopped": False}
    step = _Step(model, task, optimizer, schedule, speed, group)  # on the device from here on

    state = TrainState(
        model=model,
        out=path,
        epochs=recipe.epochs,
        steps_per_epoch=steps_per_epoch,
        epoch=saved["epoch"],
        history=saved["history"],
        stop=saved.get("stopped", False),
        notes=[f"augmentation: {policy}" + (f" ({policy.reason})" if policy.reason else "")] if policy else [],
    )
    if speed.device != "cpu" or speed.precision != "fp32" or speed.compile or speed.channels_last:
        state.notes.append(
            f"device {speed.device}, {speed.precision}"
            + (", torch.compile" if speed.compile else "")
            + (", channels_last" if speed.channels_last else "")
        )
    if recipe.cache_features and state.epoch < recipe.freeze_epochs:
        state.notes.append(
            f"feature cache: epochs 1-{recipe.freeze_epochs} train the head on the frozen backbone's features, "
            "computed once" + (" (without augmentation)" if augment is not None else "")
        )
    cache = None
    resident = {name: step.resident(data.split(name)) for name in ("train", "val")}  # on a GPU, if they fit
    if resident["train"] is not data.train:
        state.notes.append(f"data held on {speed.device}: batches are cut and augmented there")
    best, best_epoch, bad_epochs = saved["best"], saved["best_epoch"], saved["bad_epochs"]
    all_callbacks = [*callbacks, *([ProgressBar()] if progress and group.is_main else [])]
    training = state.epoch < recipe.epochs and not state.stop
    if training:
        for cb in all_callbacks:
            cb.on_fit_start(state)
    try:
        while state.epoch < recipe.epochs and not state.stop:
            epoch = state.epoch + 1
            frozen = epoch <= recipe.freeze_epochs
            set_frozen(backbone, frozen)  # fine-tuning: the head alone first
            started = time.perf_counter()
            net, train_split, val_split, epoch_augment = step.net, resident["train"], resident["val"], augment
            if recipe.cache_features and frozen:  # the head on the frozen backbone's features, computed once
                if cache is None:
                    cache = {name: extract_features(model, data.split(name)) for name in ("train", "val")}
                net, train_split, val_split, epoch_augment = head_of(model), cache["train"], cache["val"], None
            train_logs = _train_epoch(
                step.parallel(net), step, train_split, recipe, epoch, epoch_augment, state, all_callbacks
            )
            train_seconds = time.perf_counter() - started
            val_logs = _evaluate_loss(net, step, val_split, recipe.batch_size) if len(data.val) else {}
            logs = {
                "epoch": epoch,
                **train_logs,
                **{f"val_{k}": v for k, v in val_logs.items()},
                "lr": optimizer.param_groups[0]["lr"],
                "time": time.perf_counter() - started,
                "samples_per_s": len(data.train) / max(train_seconds, 1e-9),
            }
            state.epoch = epoch
            for cb in all_callbacks:  # scores that the history, the checkpoint and the monitor should see
                cb.on_validation_end(state, logs)
            state.history.append(logs)
            value = logs[monitor]
            improved = best is None or (value > best if higher else value < best)
            if improved:
                best, best_epoch, bad_epochs = value, epoch, 0
            else:
                bad_epochs += 1
            if group.is_main and (improved or recipe.keep == "last"):
                save_tensors(path / "model.safetensors", model.state_dict())
            if recipe.patience and bad_epochs >= recipe.patience:
                state.stop = True
            progress_state = {
                "epoch": state.epoch,
                "history": state.history,
                "best": best,
                "best_epoch": best_epoch,
                "bad_epochs": bad_epochs,
                "stopped": state.stop,
            }
            if group.is_main:
                save_checkpoint(path, model, optimizer, schedule, progress_state)
                _write_history(path / "history.csv", state.history)
            for cb in all_callbacks:  # after the save: a crash here keeps the epoch
                cb.on_epoch_end(state, logs)
    except KeyboardInterrupt:
        raise _interrupted(path, model, state.epoch) from None
    finally:
        set_frozen(backbone, False)
        if training:
            for cb in all_callbacks:
                cb.on_fit_end(state)
    group.barrier()  # rank 0 has written the kept weights
    model.load_state_dict(load_tensors(path / "model.safetensors"))
    return Run(
        path=path,
        model=model,
        data=data,
        config=read_json(path / "config.json"),
        history=state.history,
        stopped_early=bool(state.stop and state.epoch < recipe.epochs),
    )


def _param_groups(model: nn.Module, recipe: Recipe) -> tuple[list[dict[str, Any]], list[nn.Parameter]]:
    """The optimizer's parameter groups, and the backbone's parameters (frozen for the first
    ``freeze_epochs``). Without fine-tuning settings: one group of every parameter. With them:
    ``layer_groups`` from the first layers to the head, at ``lr / lr_mult`` rising
    geometrically to ``lr``."""
    if recipe.freeze_epochs == 0 and recipe.lr_mult == 1:
        return [{"params": list(model.parameters())}], []
    groups = layer_groups(model)
    last = len(groups) - 1
    scales = [recipe.lr_mult ** (-(last - i) / last) if last else 1.0 for i in range(len(groups))]
    backbone = [p for group in groups[:-1] for p in group]
    return [{"params": g, "lr": recipe.lr * scale} for g, scale in zip(groups, scales)], backbone


def _interrupted(path: Path, model: nn.Module, epochs_done: int) -> TrainingInterrupted:
    name = getattr(model, "zoo_config", {}).get("name")
    how = (
        f"`deepscope train --resume {path}`"
        if name
        else f"deepscope.train.fit(model, data, out={str(path)!r}, resume=True)"
    )
    if epochs_done == 0:
        message = (
            f"Interrupted before the first epoch of {path} was completed: nothing but its config was saved. "
            f"Start it again from epoch 1 with {how}."
        )
    else:
        message = (
            f"Interrupted: {epochs_done} completed epoch(s) of {path} are saved. Continue exactly where "
            f"it stopped with {how}."
        )
    return TrainingInterrupted(message, path=path, epochs_done=epochs_done)


def _check_resumable(path: Path, data: Dataset, recipe: Recipe) -> None:
    """Refuse to resume ``path`` with another recipe or other data than it was started with."""
    config = check_run_folder(path)
    if Recipe(**config["recipe"]).to_dict() != recipe.to_dict():  # fields added since take their defaults
        raise RunError(
            f"Cannot resume {path}: its recipe differs from this one. Saved: {config['recipe']}. "
            f"Given: {recipe.to_dict()}."
        )
    saved = config["data"].get("fingerprint")
    if saved is not None and saved != fingerprint(data):
        raise RunError(
            f"Cannot resume {path}: the data behind {config['data']['spec']!r} has changed since the run "
            "started (its fingerprint differs), so resuming would not reproduce the run. Start a new run."
        )


# Files a run folder holds; a folder holding only these (and temporary files) and no
# completed epoch is a run killed before its first epoch, and may be started again.
_RUN_FILES = {"config.json", "model.safetensors", "history.csv", "metrics.json", "last", "last.tmp", "last.old"}


def _new_run_folder(out: str | Path | None, runs_dir: str | Path, model: nn.Module, data: Dataset) -> Path:
    if out is None:
        name = getattr(model, "zoo_config", {}).get("name", type(model).__name__.lower())
        return next_run_dir(Path(runs_dir), name, data.name)
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise invalid("out", "a folder (or a path that does not exist yet)", str(path))
    if path.exists():
        entries = list(path.iterdir())
        temporary = {p for p in entries if p.name.startswith(".") and p.name.endswith(".tmp")}  # atomic writes
        names = {p.name for p in entries if p not in temporary}
        unfinished = (path / "config.json").is_file() and last_checkpoint(path) is None
        if names and not (unfinished and names <= _RUN_FILES | set(data.files)):
            raise RunError(f"Run folder {path} already exists and is not empty; choose another --out or --resume it.")
        for child in entries:  # empty but for a run killed before its first epoch: nothing of value
            remove_tree(child)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _config(
    model: nn.Module, data: Dataset, recipe: Recipe, policy, speed: Speed, group: Group, task: Task
) -> dict[str, Any]:
    import numpy

    from deepscope import __version__

    zoo_config = getattr(model, "zoo_config", None)
    return {
        "format": FORMAT_VERSION,
        "deepscope_version": __version__,
        "model": zoo_config or {"name": None, "class": f"{type(model).__module__}.{type(model).__qualname__}"},
        "data": {**data.describe(), "fingerprint": fingerprint(data)},
        "task": task.name,  # the model's own task where it declares one, else the data's
        "recipe": recipe.to_dict(),
        "augment": policy.describe(),
        "speed": speed.to_dict(),  # where the run started; a resume may use another device
        "processes": group.world_size,
        "parameters": sum(p.numel() for p in model.parameters()),
        "versions": {"python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def loader_workers(split: object, device: torch.device | None = None) -> int:
    """DataLoader worker processes for a split that is not in memory: ``$DEEPSCOPE_WORKERS``
    when set; else, for streamed image folders (decoding is the work to spread), the cores
    training leaves free -- on a GPU all but one (up to 8), on a CPU those beyond the two the
    training step needs (up to 4). On the 2-core development machine 0 workers (decoding in
    the training process) beat 1 and 2: 5.0 s an epoch vs 5.7 s and 5.7 s
    (benchmarks/streaming.py). Any other torch Dataset gets 0 (the main process): it may not
    survive being copied into workers."""
    given = os.environ.get("DEEPSCOPE_WORKERS", "").strip()
    if given:
        if not given.isdigit():
            raise invalid("DEEPSCOPE_WORKERS", "a whole number of DataLoader workers (0: the main process)", given)
        return int(given)
    if not is_streamed(split):
        return 0
    cores = os.cpu_count() or 1
    if device is not None and device.type == "cuda":
        return max(0, min(8, cores - 1))
    return max(0, min(4, cores - 2))


def _index_batches(
    n: int, batch_size: int, generator: torch.Generator | None, group: Group | None
) -> Iterator[torch.Tensor]:
    """The indices of each mini-batch: shuffled by ``generator`` (None keeps the order);
    with an active process ``group``, this rank's share of each global batch (a last batch
    with fewer samples than processes is dropped, so no rank steps on nothing)."""
    sharded = group is not None and group.active
    order = torch.randperm(n, generator=generator) if generator is not None else None
    for start in range(0, n, batch_size):
        idx = (
            order[start : start + batch_size] if order is not None else torch.arange(start, min(start + batch_size, n))
        )
        if sharded:
            if len(idx) < group.world_size:
                return
            idx = group.shard(idx)
        yield idx


def _batches(
    split: TensorDataset,
    batch_size: int,
    generator: torch.Generator | None,
    group: Group | None = None,
    *,
    pin: bool = False,
    device: torch.device | None = None,
) -> Iterator[tuple[torch.Tensor, ...]]:
    """Mini-batches of an in-memory split (fast path: one index per batch, or a slice when
    in order) or of any torch Dataset (a DataLoader: :func:`loader_workers` processes,
    pinned memory when ``pin``, for non-blocking copies to ``device``, a GPU; a streamed
    split's uint8 batches are scaled to float there). The batches are the same
    on both paths, and depend only on ``generator``'s seed."""
    sharded = group is not None and group.active
    if isinstance(split, TensorDataset):
        x, y = split.tensors[:2]
        if generator is None and not sharded:
            for start in range(0, len(split), batch_size):
                yield x[start : start + batch_size], y[start : start + batch_size]
            return
        for idx in _index_batches(len(split), batch_size, generator, group):
            yield x[idx], y[idx]
        return
    plan = [idx.tolist() for idx in _index_batches(len(split), batch_size, generator, group)]
    workers = loader_workers(split, device)
    if is_streamed(split):  # a worker decodes a whole batch and sends it as uint8
        batches = DataLoader(
            BatchReader(split), sampler=plan, batch_size=None, num_workers=workers, pin_memory=pin,
            prefetch_factor=2 if workers else None,
        )  # fmt: skip
        for xb, yb in batches:  # on a GPU, the uint8 batch crosses the bus and is scaled there
            yield unit(xb.to(device, non_blocking=True) if pin else xb), yb
        return
    yield from DataLoader(
        split, batch_sampler=plan, num_workers=workers, pin_memory=pin, prefetch_factor=2 if workers else None
    )


# The largest share of a GPU's free memory an in-memory split may take to be held there whole.
RESIDENT_SHARE = 0.25

# Steps between reads of the loss on the host: training never waits for the device in between.
# A non-finite loss is still reported with its exact step (every step's loss is kept on the device).
CHECK_EVERY = 32


class _Step:
    """One optimisation step on the run's device: the batch moved there (non-blocking), the
    forward pass and loss under autocast when ``speed.precision`` asks for it, backward (with
    loss scaling for fp16), the optimizer and schedule steps."""

    def __init__(self, model: nn.Module, task: Task, optimizer, schedule, speed: Speed, group: Group):
        self.model, self.task, self.optimizer, self.schedule, self.speed = model, task, optimizer, schedule, speed
        self.group = group
        self.device = torch.device(speed.device)
        self.pin = self.device.type == "cuda"  # page-locked batches copy to the GPU without blocking
        self.net = torch.compile(model) if speed.compile else model
        self.scaler = torch.amp.GradScaler(self.device.type) if speed.precision == "fp16" else None
        self._wrapped: dict[tuple[int, tuple[bool, ...]], nn.Module] = {}

    def parallel(self, net: nn.Module) -> nn.Module:
        """``net`` in DistributedDataParallel when several processes train (one wrapper per set
        of trainable parameters: unfreezing a backbone needs a new one), else ``net``."""
        if not self.group.active:
            return net
        key = (id(net), tuple(p.requires_grad for p in net.parameters()))
        if key not in self._wrapped:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self._wrapped[key] = DistributedDataParallel(net, device_ids=ids)
        return self._wrapped[key]

    def resident(self, split):
        """``split`` held whole in the device's memory when it is an in-memory split that takes
        at most ``RESIDENT_SHARE`` of the device's free memory (MNIST: 0.2 GB, CIFAR-10:
        0.6 GB): batches are then cut, and augmented, on the device, and never wait for a
        copy. Anything else (the CPU, a streamed split, one too large) is left where it is."""
        if self.device.type != "cuda" or not isinstance(split, TensorDataset):
            return split
        nbytes = sum(t.numel() * t.element_size() for t in split.tensors)
        free, _ = torch.cuda.mem_get_info(self.device)
        if nbytes > RESIDENT_SHARE * free:
            return split
        return TensorDataset(*(t.to(self.device) for t in split.tensors))

    def to_device(self, x: torch.Tensor) -> torch.Tensor:
        if self.device.type == "cpu":
            return x
        x = x.to(self.device, non_blocking=True)
        if self.speed.channels_last and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def autocast(self):
        dtype = self.speed.amp_dtype  # no context at all in fp32: entering one costs microseconds a step
        return torch.autocast(self.device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()

    def _update(self, loss: torch.Tensor, params, share: float) -> None:
        """One optimizer step on ``loss``'s gradient with respect to ``params`` (None: all)."""
        self.optimizer.zero_grad(set_to_none=True)
        weighted = loss.float() * share if share != 1.0 else loss.float()
        inputs = list(params) if params is not None else None
        if self.scaler is not None:
            self.scaler.scale(weighted).backward(inputs=inputs)
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            weighted.backward(inputs=inputs)
            self.optimizer.step()

    def __call__(
        self, net: nn.Module, xb: torch.Tensor, target: torch.Tensor, share: float = 1.0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One step; returns (output, the batch's mean loss). ``share``: this process's part of
        the global batch times the number of processes, which weights its loss so that DDP's
        average of the processes' gradients is the gradient of the global batch's mean loss
        even when the batch does not divide evenly."""
        if self.task.custom_step:  # the task steps (a GAN: two networks, one update each)
            with self.autocast():
                output, loss = self.task.train_step(
                    net, xb, target, lambda value, params: self._update(value, params, share)
                )
            if self.schedule is not None:
                self.schedule.step()
            return output, loss
        if self.speed.amp_dtype is None:
            output = net(xb)
            loss = self.task.loss(output, target)
        else:
            with self.autocast():
                output = net(xb)
                loss = self.task.loss(output.float(), target)
        self.optimizer.zero_grad(set_to_none=True)
        weighted = loss * share if share != 1.0 else loss
        if self.scaler is not None:
            self.scaler.scale(weighted).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            weighted.backward()
            self.optimizer.step()
        if self.schedule is not None:
            self.schedule.step()
        return output, loss


def _train_epoch(
    net: nn.Module,
    step_fn: _Step,
    split,
    recipe: Recipe,
    epoch: int,
    augment,
    state: TrainState,
    callbacks: Sequence[Callback],
) -> dict[str, float]:
    net.train()
    freeze_norms(net)  # a BatchNorm whose parameters are frozen keeps its statistics (eval mode)
    # The data order depends only on (seed, epoch): a resumed run sees the same batches.
    generator = torch.Generator().manual_seed(recipe.seed * 100_003 + epoch)
    device, task = step_fn.device, step_fn.task
    losses = torch.zeros(max(state.steps_per_epoch, 1), device=device)  # every step's loss, read in bulk
    sizes: list[int] = []
    sums: dict[str, torch.Tensor] = {}
    step = 0
    for step, (xb, yb) in enumerate(
        _batches(split, recipe.batch_size, generator, step_fn.group, pin=step_fn.pin, device=step_fn.device), start=1
    ):
        target = yb
        if augment is not None:
            xb, target = augment(xb, yb, generator)  # target: soft labels (N, K) after MixUp/CutMix
        xb, yb, target = step_fn.to_device(xb), step_fn.to_device(yb), step_fn.to_device(target)
        share = 1.0
        if step_fn.group.active:  # this process's samples of the global batch over its fair part
            rank, world = step_fn.group.rank, step_fn.group.world_size
            whole = min(recipe.batch_size, len(split) - (step - 1) * recipe.batch_size)
            share = len(range(rank, whole, world)) * world / whole
        output, loss = step_fn(net, xb, target, share)
        if step > len(losses):  # a loader that yields more batches than planned
            losses = torch.cat([losses, torch.zeros_like(losses)])
        losses[step - 1] = loss.detach()
        sizes.append(len(xb))  # the samples the model saw (2 views each when contrastive)
        with torch.no_grad():
            for key, total in task.batch_sums(output.detach().float(), yb).items():
                sums[key] = sums[key] + total if key in sums else total
        if step % CHECK_EVERY == 0:
            _check_finite(losses[:step], epoch, step - CHECK_EVERY, state, recipe)
        for cb in callbacks:
            cb.on_batch_end(state, step, losses[step - 1])
    _check_finite(losses[:step], epoch, step - step % CHECK_EVERY, state, recipe)  # the steps since the last check
    weights = torch.tensor(sizes, dtype=losses.dtype).to(device)
    keys = list(sums)
    totals = torch.stack(  # [loss sum, samples, metric sums...], summed over the processes
        [
            (losses[:step] * weights).sum(),
            weights.sum(),
            *(torch.as_tensor(sums[k], dtype=losses.dtype, device=device) for k in keys),
        ]
    )
    totals = step_fn.group.sum(totals).tolist()  # the epoch's one read of the device
    count = max(totals[1], 1)
    return {"loss": totals[0] / count, **{k: v / count for k, v in zip(keys, totals[2:])}}


def _check_finite(losses: torch.Tensor, epoch: int, since: int, state: TrainState, recipe: Recipe) -> None:
    """Raise TrainingDivergedError naming the first step (1-based) whose loss is not finite;
    ``losses`` holds every step's loss so far, steps before ``since`` were checked already."""
    bad = ~torch.isfinite(losses[since:])
    if not bool(bad.any()):  # one host read per CHECK_EVERY steps
        return
    first = since + int(bad.nonzero()[0, 0])
    value = float(losses[first])
    raise TrainingDivergedError(
        f"The loss became {value} at epoch {epoch}, step {first + 1}; training stopped. The last good "
        f"checkpoint is kept in {state.out}. Try a lower learning rate (lr={recipe.lr})."
    )


@torch.inference_mode()
def _evaluate_loss(model: nn.Module, step_fn: _Step, split, batch_size: int) -> dict[str, float]:
    model.eval()
    task = step_fn.task
    loss_sum, count, sums = None, 0, {}
    for xb, yb in _batches(split, max(batch_size, 256), None, pin=step_fn.pin, device=step_fn.device):
        xb, yb = step_fn.to_device(xb), step_fn.to_device(yb)
        with step_fn.autocast():
            if task.custom_step:
                output, batch_loss = task.eval_step(model, xb, yb)
                output, batch_loss = output.float(), batch_loss.float() * len(yb)
            else:
                output = model(xb).float()
                batch_loss = task.loss(output, yb) * len(yb)
        loss_sum = batch_loss if loss_sum is None else loss_sum + batch_loss
        count += len(yb)
        for key, total in task.batch_sums(output, yb).items():
            sums[key] = sums[key] + total if key in sums else total
    model.train()
    total_loss = float(loss_sum) if loss_sum is not None else 0.0
    return {"loss": total_loss / max(count, 1), **{k: float(v) / max(count, 1) for k, v in sums.items()}}


def _write_history(path: Path, history: list[dict[str, float]]) -> None:
    if not history:
        return
    keys = list(history[0])
    lines = [",".join(keys)] + [",".join(repr(row.get(k, "")) for k in keys) for row in history]
    write_text(path, "\n".join(lines) + "\n")
