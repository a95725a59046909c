"""Fine-tuning a pretrained net vs training zoo CNNs from scratch on few images, same budget.

For each seed: ``deepscope finetune BACKBONE --data SPEC`` (its recipe) and its training time
(the epochs' times in its history: feature caching included; data loading, which costs every
method the same, left out); then each from-scratch zoo CNN on the same images (same ``SPEC``:
same subset, same validation split) for as many epochs as fit in that time (an epoch's time
from a 1-epoch probe's history). The
best from-scratch model is chosen on its validation accuracy (never on test); every run's test
split is scored once. Prints test accuracy mean ± std over the seeds for the fine-tuned net
and the chosen from-scratch model, and the seconds each took.

    python benchmarks/finetune_table.py --data "images:/tmp/data/cifar10?classes=automobile,truck&per_class=100"
"""

from __future__ import annotations

import argparse
import statistics
import tempfile

import torch

from deepscope import runs

SCRATCH = ("mnist_cnn", "lecture_cnn")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--backbone", default="efficientnet_lite0")
    parser.add_argument("--size", type=int, help="side the backbone's input is resized to (default: its own)")
    parser.add_argument("--scratch", default=",".join(SCRATCH), help="zoo CNNs trained from scratch")
    parser.add_argument("--seeds", default="0,1,2")
    args = parser.parse_args()
    tuned_tests, scratch_tests, lines = [], [], []
    with tempfile.TemporaryDirectory() as runs_dir:
        for seed in (int(s) for s in args.seeds.split(",")):
            common = {"seed": seed, "runs_dir": runs_dir, "progress": False}
            tuned = runs.finetune(args.backbone, args.data, size=args.size, **common)
            budget = sum(row["time"] for row in tuned.history)
            tuned_tests.append(tuned.evaluate("test").accuracy)
            candidates = []
            for name in args.scratch.split(","):
                per_epoch = runs.train(name, args.data, epochs=1, **common).history[0]["time"]
                epochs = max(1, int(budget / per_epoch))
                run = runs.train(name, args.data, epochs=epochs, **common)
                candidates.append((run.best_value, name, epochs, run))
            best_val, name, epochs, chosen = max(candidates, key=lambda c: c[0])  # chosen on validation
            scratch_tests.append(chosen.evaluate("test").accuracy)
            line = (
                f"seed {seed}: {args.backbone} fine-tuned test {tuned_tests[-1]:.4f} (val {tuned.best_value:.4f}, "
                f"{budget:.0f} s); best from scratch on validation: {name} x {epochs} epochs, val {best_val:.4f}, "
                f"test {scratch_tests[-1]:.4f} (others: "
                + ", ".join(f"{n} val {v:.4f}" for v, n, _, _ in candidates if n != name)
                + ")"
            )
            lines.append(line)
            print(line, flush=True)
    print(f"\n{args.data}, seeds {args.seeds}, {torch.get_num_threads()} threads")
    for label, values in ((f"{args.backbone} fine-tuned", tuned_tests), ("best from-scratch zoo CNN", scratch_tests)):
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        print(f"{label:<30} test {100 * statistics.mean(values):.2f}% ± {100 * spread:.2f}")
    gap = 100 * (statistics.mean(tuned_tests) - statistics.mean(scratch_tests))
    print(f"fine-tuning adds {gap:+.1f} points (target: >= +15)")


if __name__ == "__main__":
    main()
