"""Trainer overhead: deepscope.fit vs a minimal hand-written PyTorch loop.

Both train mnist_cnn with AdamW + one-cycle for the same number of steps on the same data
in this process. Two settings: batch 128 without augmentation, and batch 32 with mnist_cnn's
'auto' shifts (the hand loop applies the same augmentation function): smaller batches than
the recipe's 64, so the per-step cost of the trainer weighs more. Each setting is warmed up
once (untimed), then repeated with the order alternating (hand, fit / fit, hand, ...) so
drift in machine load hits both; the table reports the median samples/s of each, every run,
and the spread of the per-pair ratio.
DESIGN.md §7 asks for an overhead <= 3%.

    python benchmarks/trainer_overhead.py --data mnist:../shared/data/mnist --steps 100 --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F
from torch.utils.data import TensorDataset

from deepscope import data as data_module
from deepscope import zoo
from deepscope.data import Dataset
from deepscope.data.augment import make_augment
from deepscope.train import fit

SETTINGS = ((128, None), (32, "auto"))  # (batch size, augmentation)


def hand_loop(model: torch.nn.Module, data: Dataset, epochs: int, lr: float, batch: int, augment: str | None) -> float:
    """The loop everyone writes: shuffle, (augment), forward, loss, backward, step, schedule."""
    x, y = data.train.tensors
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * ((len(x) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.25)
    transform = make_augment(augment, data)
    model.train()
    start = time.perf_counter()
    for epoch in range(epochs):
        generator = torch.Generator().manual_seed(epoch)
        order = torch.randperm(len(x), generator=generator)
        for i in range(0, len(x), batch):
            idx = order[i : i + batch]
            xb = x[idx] if transform is None else transform(x[idx], y[idx], generator)[0]
            loss = F.cross_entropy(model(xb), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    return epochs * len(x) / (time.perf_counter() - start)


def deepscope_fit(
    model: torch.nn.Module, data: Dataset, epochs: int, lr: float, batch: int, augment: str | None
) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        fit(
            model,
            data,
            epochs=epochs,
            batch_size=batch,
            optimizer="adamw",
            lr=lr,
            weight_decay=1e-4,
            schedule="onecycle",
            augment=augment or "none",
            out=f"{tmp}/run",
            progress=True,
        )
        elapsed = time.perf_counter() - start
    return epochs * len(data.train) / elapsed


def measure(data: Dataset, args: argparse.Namespace, batch: int, augment: str | None) -> None:
    x, y = data.train.tensors
    n = args.steps * batch
    x, y = x[:n].contiguous(), y[:n].contiguous()
    empty = TensorDataset(x[:0], y[:0])
    subset = Dataset(
        name=data.name,
        kind=data.kind,
        input_shape=data.input_shape,
        train=TensorDataset(x, y),
        val=empty,
        test=empty,
        classes=data.classes,
    )  # no validation pass: same work as the hand loop

    def once(name: str, seed: int) -> float:
        model = zoo.create("mnist_cnn", data=subset, seed=seed)
        if name == "deepscope.fit":
            return deepscope_fit(model, subset, args.epochs, 3e-3, batch, augment)
        return hand_loop(model, subset, args.epochs, 3e-3, batch, augment)

    names = ["hand-written loop", "deepscope.fit"]
    for name in names:  # warm-up: allocator, kernels, caches; not timed
        once(name, 0)
    results: dict[str, list[float]] = {name: [] for name in names}
    for r in range(args.repeats):
        for name in names if r % 2 == 0 else names[::-1]:
            results[name].append(once(name, r))
    base = statistics.median(results["hand-written loop"])
    ratios = [f / h for f, h in zip(results["deepscope.fit"], results["hand-written loop"])]
    print(
        f"\nmnist_cnn, {args.steps} steps x batch {batch}, augmentation {augment or 'none'}, {args.epochs} epoch(s), "
        f"{args.repeats} repeats (order alternating, after a warm-up), {torch.get_num_threads()} threads"
    )
    print(f"{'loop':<20} {'median samples/s':>17}  runs")
    for name, values in results.items():
        print(f"{name:<20} {statistics.median(values):>17.1f}  {', '.join(f'{v:.0f}' for v in values)}")
    overhead = 1 - statistics.median(results["deepscope.fit"]) / base
    print(
        f"trainer overhead: {overhead * 100:+.1f}% (median); per-pair ratios fit/hand "
        f"{min(ratios):.3f} .. {max(ratios):.3f} (target: overhead <= 3%)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="mnist:../shared/data/mnist")
    parser.add_argument("--steps", type=int, default=100, help="optimizer steps per epoch")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    data = data_module.load(args.data)
    for batch, augment in SETTINGS:
        measure(data, args, batch, augment)


if __name__ == "__main__":
    main()
