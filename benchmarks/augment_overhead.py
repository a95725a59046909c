"""What augmentation costs: mnist_cnn's epoch time with each policy vs without.

Trains mnist_cnn with its recipe (batch 64, AdamW, one-cycle) through ``deepscope.fit`` for
``--steps`` steps of MNIST, once per policy, after an untimed warm-up of each; repeats with
the order of the policies rotating, so drift in machine load spreads over all of them, and
reports the median samples/s of each policy and its time ratio to 'none' measured in the same
run. Issue 10 asks for epoch time with augmentation at most 15% above without on MNIST-sized
data (the 'auto' policy is what mnist_cnn trains with).

    python benchmarks/augment_overhead.py --data mnist:../shared/data/mnist --steps 150 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile

import torch
from torch.utils.data import TensorDataset

from deepscope import data as data_module
from deepscope import zoo
from deepscope.data import Dataset
from deepscope.train import fit

POLICIES = (
    "none",
    "auto",
    "flip+shift=0.125",
    "rotate=15+scale=0.1",
    "crop",
    "color+erase",
    "mixup",
    "cutmix",
    "trivialaugment",
    "randaugment",
)


def samples_per_s(data: Dataset, policy: str, seed: int) -> float:
    model = zoo.create("mnist_cnn", data=data, seed=seed)
    with tempfile.TemporaryDirectory() as runs_dir:
        run = fit(model, data, epochs=1, augment=policy, runs_dir=runs_dir, progress=False)
    return run.history[-1]["samples_per_s"]  # training time only (no validation pass: none here)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="mnist:../shared/data/mnist")
    parser.add_argument("--steps", type=int, default=150, help="optimizer steps (batch 64) per timed epoch")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--policies", default=",".join(POLICIES), help="comma-separated; 'none' is the baseline")
    args = parser.parse_args()
    policies = args.policies.split(",")
    if "none" not in policies:
        policies = ["none", *policies]
    full = data_module.load(args.data)
    x, y = full.train.tensors
    n = args.steps * 64
    empty = TensorDataset(x[:0], y[:0])
    data = Dataset(
        name=full.name, kind=full.kind, input_shape=full.input_shape, train=TensorDataset(x[:n], y[:n]),
        val=empty, test=empty, classes=full.classes,
    )  # fmt: skip
    for policy in policies:  # warm-up, untimed
        samples_per_s(data, policy, 0)
    results: dict[str, list[float]] = {p: [] for p in policies}
    for r in range(args.repeats):
        order = policies[r % len(policies) :] + policies[: r % len(policies)]
        for policy in order:
            results[policy].append(samples_per_s(data, policy, r))
    base = statistics.median(results["none"])
    print(
        f"\nmnist_cnn on {data.name}, {args.steps} steps x batch 64 per epoch, {args.repeats} repeats "
        f"(order rotating, after a warm-up), {torch.get_num_threads()} threads"
    )
    print(f"{'policy':<22} {'median samples/s':>17} {'epoch time vs none':>19}  runs")
    for policy, values in results.items():
        ratio = base / statistics.median(values)
        print(
            f"{policy:<22} {statistics.median(values):>17.1f} {ratio:>18.2f}x  {', '.join(f'{v:.0f}' for v in values)}"
        )
    auto = base / statistics.median(results["auto"]) if "auto" in results else float("nan")
    print(f"'auto' (mnist_cnn's recipe): epoch time {100 * (auto - 1):+.1f}% vs none (target: <= +15%)")


if __name__ == "__main__":
    main()
