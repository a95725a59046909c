"""Few labels: training from scratch vs self-supervised pre-training + fine-tuning, over seeds.

For each seed, with the same labelled subset (``SPEC?per_class=N``, validation carved from it)
and the same epochs on it:
- scratch: ``deepscope train MODEL --data "SPEC?per_class=N" --epochs E``;
- pretrained, for each ``--tasks`` entry: ``deepscope pretrain MODEL --data SPEC --task T`` (the
  rotation task, or SimCLR's contrastive task, on every training image, labels unused), then
  ``deepscope finetune RUN --data "SPEC?per_class=N" --epochs E`` (only the dense layers train:
  the convolutional layers keep what the pretext task taught).
Each run keeps its best epoch by validation accuracy; test accuracy (the whole test split) is
scored once per run, at the end. Prints mean ± std of both.

    python benchmarks/pretrain_table.py mnist_cnn --data mnist:../shared/data/mnist --per-class 10 --epochs 50
    python benchmarks/pretrain_table.py mnist_cnn --tasks rotation,simclr --pretrain-epochs 2
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
    parser.add_argument("model")
    parser.add_argument("--data", default="mnist:../shared/data/mnist")
    parser.add_argument("--per-class", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=50, help="epochs on the labelled subset (both methods)")
    parser.add_argument("--pretrain-epochs", type=int, help="epochs of the pretext task (default: the recipe's)")
    parser.add_argument("--tasks", default="rotation", help="pretext tasks, comma-separated: rotation, simclr")
    parser.add_argument("--seeds", default="0,1,2")
    args = parser.parse_args()
    labelled = f"{args.data}?per_class={args.per_class}"
    tasks = args.tasks.split(",")
    results: dict[str, list[float]] = {"scratch": [], **{f"{task} pre-training + fine-tuning": [] for task in tasks}}
    with tempfile.TemporaryDirectory() as runs_dir:
        for seed in (int(s) for s in args.seeds.split(",")):
            common = {"seed": seed, "runs_dir": runs_dir, "progress": False}
            scratch = runs.train(args.model, labelled, epochs=args.epochs, **common)
            results["scratch"].append(scratch.evaluate("test").accuracy)
            line = f"seed {seed}: scratch test {results['scratch'][-1]:.4f} (val {scratch.best_value:.4f})"
            for task in tasks:
                started = time.perf_counter()
                extra = {"epochs": args.pretrain_epochs} if args.pretrain_epochs else {}
                pre = runs.pretrain(args.model, args.data, task=task, **extra, **common)
                pre_seconds = time.perf_counter() - started
                tuned = runs.finetune(pre.path, labelled, epochs=args.epochs, **common)
                results[f"{task} pre-training + fine-tuning"].append(tuned.evaluate("test").accuracy)
                line += (
                    f"; {task} task val {pre.best_value:.4f} ({pre_seconds:.0f} s), fine-tuned test "
                    f"{results[f'{task} pre-training + fine-tuning'][-1]:.4f} (val {tuned.best_value:.4f})"
                )
            print(line, flush=True)
    print(
        f"\n{args.model} on {labelled} ({args.epochs} epochs on the labelled images), seeds {args.seeds}, "
        f"{torch.get_num_threads()} threads"
    )
    for name, values in results.items():
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        print(f"{name:<38} test {100 * statistics.mean(values):.2f}% ± {100 * spread:.2f}")


if __name__ == "__main__":
    main()
