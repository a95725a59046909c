"""Choosing the fine-tuning recipe on validation: candidate recipes for a pretrained backbone.

Each candidate fine-tunes ``--backbone`` on the same labelled draw (``SPEC?per_class=N``,
``--val-fraction`` of it carved as validation) and prints its validation accuracy per epoch
and the best; the test split is never read. The candidates are fastai's ``fine_tune`` (one
frozen epoch, then the whole network with discriminative rates), the head alone on cached
features with two optimiser settings, and that head followed by unfrozen epochs.

    python benchmarks/finetune_recipe.py --data "images:/tmp/data/cifar10?classes=automobile,truck&per_class=150"
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch

from deepscope import runs

CANDIDATES = {
    "fastai": {
        "epochs": 6, "freeze_epochs": 1, "batch_size": 32, "lr": 2e-3, "schedule": "onecycle",
        "augment": "auto", "cache_features": False,
    },
    "head-30-lr1e-2": {
        "epochs": 30, "freeze_epochs": 30, "batch_size": 32, "lr": 1e-2, "schedule": "cosine", "cache_features": True,
    },
    "head-10-then-4": {"epochs": 14, "freeze_epochs": 10, "batch_size": 16, "cache_features": True, "augment": "auto"},
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a labelled draw: SPEC?...&per_class=N")
    parser.add_argument("--backbone", default="efficientnet_lite0")
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    parser.add_argument("--val-fraction", type=float, default=1 / 3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as runs_dir:
        for name in args.candidates.split(","):
            started = time.perf_counter()
            run = runs.finetune(
                args.backbone, args.data, val_fraction=args.val_fraction, seed=args.seed, runs_dir=runs_dir,
                progress=False, **CANDIDATES[name],
            )  # fmt: skip
            curve = " ".join(f"{row['val_accuracy']:.2f}" for row in run.history)
            print(
                f"{name:<16} best val {run.best_value:.4f} ({time.perf_counter() - started:.0f} s); per epoch: {curve}",
                flush=True,
            )
    print(f"\n{args.backbone} on {args.data}, seed {args.seed}, {torch.get_num_threads()} threads")


if __name__ == "__main__":
    main()
