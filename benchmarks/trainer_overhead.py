"""Trainer overhead: deepscope.fit vs a minimal hand-written PyTorch loop.

Both train mnist_cnn with AdamW + one-cycle for the same number of steps on the same data
in this process, alternating (hand, fit, hand, fit, ...) so drift in machine load hits both;
the table reports the median samples/s of each and their ratio. DESIGN.md §7 asks for an
overhead <= 3%.

    python benchmarks/trainer_overhead.py --data mnist:../shared/data/mnist --steps 100 --repeats 3
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
from deepscope.train import fit

BATCH = 128


def hand_loop(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, lr: float) -> float:
    """The loop everyone writes: shuffle, forward, loss, backward, step, schedule."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * ((len(x) + BATCH - 1) // BATCH)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.25)
    model.train()
    start = time.perf_counter()
    for epoch in range(epochs):
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(epoch))
        for i in range(0, len(x), BATCH):
            idx = order[i : i + BATCH]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    return epochs * len(x) / (time.perf_counter() - start)


def deepscope_fit(model: torch.nn.Module, data: Dataset, epochs: int, lr: float) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        fit(
            model,
            data,
            epochs=epochs,
            batch_size=BATCH,
            optimizer="adamw",
            lr=lr,
            weight_decay=1e-4,
            schedule="onecycle",
            out=f"{tmp}/run",
            progress=True,
        )
        elapsed = time.perf_counter() - start
    return epochs * len(data.train) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="mnist:../shared/data/mnist")
    parser.add_argument("--steps", type=int, default=100, help="optimizer steps per epoch")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    source = data_module.load(args.data)
    n = args.steps * BATCH
    x, y = source.train.tensors[0][:n].contiguous(), source.train.tensors[1][:n].contiguous()
    empty = TensorDataset(x[:0], y[:0])
    data = Dataset(
        name=source.name,
        kind=source.kind,
        input_shape=source.input_shape,
        train=TensorDataset(x, y),
        val=empty,
        test=empty,
        classes=source.classes,
    )  # no validation pass: same work as the hand loop
    results: dict[str, list[float]] = {"hand-written loop": [], "deepscope.fit": []}
    for r in range(args.repeats):
        for name in results:
            model = zoo.create("mnist_cnn", data=data, seed=r)
            if name == "deepscope.fit":
                results[name].append(deepscope_fit(model, data, args.epochs, 3e-3))
            else:
                results[name].append(hand_loop(model, x, y, args.epochs, 3e-3))
    base = statistics.median(results["hand-written loop"])
    print(
        f"\nmnist_cnn on {args.data}, {args.steps} steps x batch {BATCH} x {args.epochs} epoch(s), "
        f"{args.repeats} repeats, {torch.get_num_threads()} threads"
    )
    print(f"{'loop':<20} {'median samples/s':>17} {'runs':>28} {'ratio':>7}")
    for name, values in results.items():
        median = statistics.median(values)
        runs = ", ".join(f"{v:.0f}" for v in values)
        print(f"{name:<20} {median:>17.1f} {runs:>28} {median / base:>7.3f}")
    overhead = 1 - statistics.median(results["deepscope.fit"]) / base
    print(f"trainer overhead: {overhead * 100:+.1f}% (target <= 3%)")


if __name__ == "__main__":
    main()
