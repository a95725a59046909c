"""Keras' mnist_transfer_cnn, over seeds: train on digits 0-4, then transfer to 5-9.

For each seed: ``deepscope train mnist_transfer_cnn --data "mnist:D?classes=0,1,2,3,4"``, then
``deepscope finetune RUN --data "mnist:D?classes=5,6,7,8,9"`` (the convolutional layers frozen,
the dense layers trained, as in Keras' example). Each phase keeps its best epoch on its own
validation split; each test split (digits 0-4, digits 5-9) is scored once, at the end.
Prints test accuracy mean ± std of both phases and the seconds each phase took.

    python benchmarks/transfer_table.py --data mnist:../shared/data/mnist --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch

from deepscope import runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="mnist:../shared/data/mnist")
    parser.add_argument("--seeds", default="0,1,2")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as runs_dir:
        for seed in (int(s) for s in args.seeds.split(",")):
            started = time.perf_counter()
            first = runs.train(
                "mnist_transfer_cnn", f"{args.data}?classes=0,1,2,3,4", seed=seed, runs_dir=runs_dir, progress=False
            )
            first_seconds = time.perf_counter() - started
            first_test = first.evaluate("test").accuracy
            started = time.perf_counter()
            second = runs.finetune(
                first.path, f"{args.data}?classes=5,6,7,8,9", seed=seed, runs_dir=runs_dir, progress=False
            )
            second_seconds = time.perf_counter() - started
            second_test = second.evaluate("test").accuracy
            rows.append((seed, first_test, first_seconds, second_test, second_seconds, second.best_value))
            print(
                f"seed {seed}: digits 0-4 test {first_test:.4f} ({first_seconds:.0f} s, val {first.best_value:.4f}); "
                f"5-9 after transfer test {second_test:.4f} ({second_seconds:.0f} s, val {second.best_value:.4f})",
                flush=True,
            )
    print(f"\nmnist_transfer_cnn, seeds {args.seeds}, {torch.get_num_threads()} threads")
    for label, column, seconds in (("digits 0-4", 1, 2), ("digits 5-9 after transfer", 3, 4)):
        values = [r[column] for r in rows]
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        print(
            f"{label:<26} test {100 * statistics.mean(values):.2f}% ± {100 * spread:.2f}   "
            f"{statistics.mean(r[seconds] for r in rows):.0f} s per phase"
        )


if __name__ == "__main__":
    main()
