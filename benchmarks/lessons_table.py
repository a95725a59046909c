"""Every lesson's run time and the figures the lessons report, from one command.

Runs each lesson (``deepscope lesson NAME``) into a temporary folder with the given seed and
prints its wall time (the lesson's own ``seconds``: training, figures, GIFs and the page),
then the numbers issue 13 asks for: the autodiff table's worst relative error, and the
mini-batch lesson's loss after the same number of examples for each batch size with the
update time each took. Times mean something only when nothing else runs on the machine.

    python benchmarks/lessons_table.py                       # all six lessons, seed 0
    python benchmarks/lessons_table.py --only minibatch --data mnist:../shared/data/mnist
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

from deepscope import lessons


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated lesson names (default: every lesson)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", help="data spec for the lessons that train on images (default: theirs)")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else lessons.lesson_names()
    print(f"torch threads: {torch.get_num_threads()}")
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name in names:
            data = args.data if lessons.get(name).meta["takes_data"] else None
            result = lessons.run(name, Path(scratch) / name, seed=args.seed, data=data)
            results[name] = result
            print(f"{name:<10} {result.seconds:6.1f} s  {len(result.files)} files", flush=True)
    print("\n| lesson | seconds |\n|---|---|")
    for name, result in results.items():
        print(f"| `{name}` | {result.seconds:.1f} |")
    if "autodiff" in results:
        n = results["autodiff"].numbers
        print(
            f"\nautodiff: worst relative error {n['worst_rel_error']:.2e} ({n['worst_param']}, float64, "
            f"{n['entries_checked']} weights); float32: {n['float32_worst_rel_error']:.2e}"
        )
    if "minibatch" in results:
        n = results["minibatch"].numbers
        print(f"\nminibatch: {n['examples_seen']:,} examples seen by every run ({n['train_images']:,} training images)")
        print("| batch size | lr | steps | train loss | val loss | update s | fit s | step noise |")
        print("|---|---|---|---|---|---|---|---|")
        for label, row in n["batch_sizes"].items():
            print(
                f"| {label} | {row['lr']:.3g} | {row['steps']:,} | {row['train_loss']:.4f} | {row['val_loss']:.4f} | "
                f"{row['update_seconds']:.3f} | {row['fit_seconds']:.2f} | {row['noise']:.3g} |"
            )


if __name__ == "__main__":
    main()
