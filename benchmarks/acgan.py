"""Keras' mnist_acgan on MNIST: the Fréchet distance and classifier score of every epoch.

First the judge: ``mnist_cnn`` trained with its recipe (``--judge-epochs`` overrides), or a
classifier run given with ``--judge RUN``. Then ``mnist_acgan`` with its recipe (``--epochs``
overrides), judged after every epoch on 5,000 fixed-seed samples against the validation
images (``deepscope train mnist_acgan --data SPEC --judge RUN``), and once at the end on the
test split. Prints per epoch: seconds, the losses, the discriminator's P(real) on real and
fake images, the Fréchet distance in the judge's features and the classifier score; writes
the last epoch's class grid (10 samples of each digit, one row per digit, seed 1234) to
``--png`` for the docs.

    python benchmarks/acgan.py --data mnist:../shared/data/mnist --png docs/images/acgan-grid.png
    python benchmarks/acgan.py --data "mnist:../shared/data/mnist?per_class=30&test_per_class=20" \\
        --epochs 1 --judge-epochs 1 --png /tmp/acgan-grid.png        # a quick check that it runs
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from deepscope import plots, runs
from deepscope.train.quality import EVAL_SEED, sample_grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="mnist:../shared/data/mnist")
    parser.add_argument("--epochs", type=int, help="mnist_acgan's epochs (default: its recipe's)")
    parser.add_argument("--judge", help="a classifier run folder to judge with (default: train mnist_cnn)")
    parser.add_argument("--judge-epochs", type=int, help="the judge's epochs (default: mnist_cnn's recipe)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs-dir", help="keep the runs here (default: a temporary folder)")
    parser.add_argument("--png", help="write the last epoch's class grid here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        runs_dir = Path(args.runs_dir or scratch)
        judge = args.judge
        if judge is None:
            started = time.perf_counter()
            trained = runs.train(
                "mnist_cnn", args.data, epochs=args.judge_epochs, seed=args.seed, runs_dir=runs_dir, progress=False
            )
            judge = trained.path
            print(
                f"judge: mnist_cnn, val accuracy {trained.best_value:.4f} "
                f"({time.perf_counter() - started:.0f} s, {judge})",
                flush=True,
            )
        run = runs.train(
            "mnist_acgan", args.data, judge=judge, epochs=args.epochs, seed=args.seed, runs_dir=runs_dir, progress=False
        )
        print(f"\nmnist_acgan on {args.data}, seed {args.seed}, {torch.get_num_threads()} threads, judge {judge}")
        print(
            f"{'epoch':>5} {'s':>7} {'d_loss':>7} {'g_loss':>7} {'D(real)':>7} {'D(fake)':>7} {'Fréchet':>9} {'cls score':>9}"
        )
        for row in run.history:
            print(
                f"{int(row['epoch']):>5} {row['time']:>7.1f} {row['d_loss']:>7.3f} {row['g_loss']:>7.3f} "
                f"{row['d_real']:>7.3f} {row['d_fake']:>7.3f} {row['frechet']:>9.3f} {row['classifier_score']:>9.4f}"
            )
        seconds = [row["time"] for row in run.history]
        print(f"{sum(seconds) / len(seconds):.1f} s per epoch")
        test = run.evaluate("test")
        print(
            f"test: classifier score {test.scores['classifier_score']:.4f} (the judge on real test images: "
            f"{test.scores['judge_accuracy']:.4f}), Fréchet distance {test.scores['frechet']:.3f}"
        )
        if args.png:
            images, _, columns = sample_grid(run.model, torch.Generator().manual_seed(EVAL_SEED))
            title = f"mnist_acgan after {len(run.history)} epochs: one row per digit"
            print(f"grid: {plots.save_figure(plots.image_grid_figure(images.numpy(), columns, title=title), args.png)}")


if __name__ == "__main__":
    main()
