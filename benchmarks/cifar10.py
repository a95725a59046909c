"""CIFAR-10 figures of the Keras-example models: test accuracy per seed, mean ± std, seconds per epoch.

Trains a zoo entry with its recipe (or overrides) on the CIFAR-10 JPEG folders, once per
seed, and scores the test split once per seed, at the end. The folders are decoded once (about
a minute on 2 cores) and shared by every seed: the validation split is the one seed 0 carves
(10% of train, stratified), the model's initial weights, batch order and augmentation follow
each seed. Recipes are revised on that validation split (benchmarks/recipe_search.py), never on test.

    python benchmarks/cifar10.py                                       # cifar10_cnn, its recipe, seeds 0,1,2
    python benchmarks/cifar10.py --model cifar10_resnet --seeds 0      # ResNet20 v1, the CPU budget recipe
    python benchmarks/cifar10.py --model cifar10_resnet --depth 56 --version 2 --seeds 0 --set epochs=200
    python benchmarks/cifar10.py --model cifar10_cnn_capsule --seeds 0
    python benchmarks/cifar10.py --set optimizer=rmsprop lr=1e-4 batch_size=32 schedule=constant epochs=25  # Keras' recipe
    python benchmarks/cifar10.py --data "images:/tmp/data/cifar10?per_class=20" --epochs 1 --seeds 0,1  # a smoke run

Data: ``--data`` (default ``images:$DEEPSCOPE_CIFAR``, else ``images:/tmp/data/cifar10``).
Seconds per epoch are only meaningful when nothing else runs on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

import torch

import deepscope as ds
from deepscope.recipe import parse_value

DEFAULT_DATA = f"images:{os.environ.get('DEEPSCOPE_CIFAR', '/tmp/data/cifar10')}"
DEFAULT_SEEDS = {"cifar10_cnn": "0,1,2"}  # the others are long on a CPU: one seed unless asked


def parse_overrides(items: list[str]) -> dict:
    overrides = {}
    for item in items:
        key, _, value = item.partition("=")
        if not value:
            raise SystemExit(f"--set takes KEY=VALUE (recipe fields). Received: {item!r}")
        overrides[key] = parse_value(value)
    return overrides


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--model", default="cifar10_cnn", choices=["cifar10_cnn", "cifar10_resnet", "cifar10_cnn_capsule"]
    )
    parser.add_argument("--data", default=DEFAULT_DATA, help=f"data spec (default: {DEFAULT_DATA})")
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs")
    parser.add_argument("--seeds", help="comma-separated seeds (default: 0,1,2 for cifar10_cnn, else 0)")
    parser.add_argument("--depth", type=int, help="cifar10_resnet: 6n+2 (v1) or 9n+2 (v2); default 20")
    parser.add_argument("--version", type=int, help="cifar10_resnet: 1 or 2; default 1")
    parser.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE", help="recipe overrides, e.g. lr=1e-3")
    parser.add_argument("--json", help="write the results as JSON here")
    args = parser.parse_args()

    seeds = [int(s) for s in (args.seeds or DEFAULT_SEEDS.get(args.model, "0")).split(",")]
    model_kwargs = {k: v for k, v in (("depth", args.depth), ("version", args.version)) if v is not None}
    overrides = parse_overrides(args.set) | ({"epochs": args.epochs} if args.epochs else {})
    base = ds.zoo.info(args.model).recipe.with_overrides(**overrides)

    start = time.perf_counter()
    data = ds.data.load(args.data, seed=0)
    load_s = time.perf_counter() - start
    print(
        f"{args.data}: {len(data.train):,} train / {len(data.val):,} val / {len(data.test):,} test, loaded in {load_s:.0f} s"
    )
    print(f"{args.model} {model_kwargs or ''} recipe: {base}")
    print(f"torch threads: {torch.get_num_threads()}")

    results = []
    with tempfile.TemporaryDirectory() as runs_dir:
        for seed in seeds:
            recipe = base.with_overrides(seed=seed)
            model = ds.zoo.create(args.model, data=data, seed=seed, **model_kwargs)
            run = ds.fit(model, data, recipe, runs_dir=runs_dir, progress=False)
            test = run.evaluate("test").accuracy  # the test split, once per seed, at the end
            row = {
                "seed": seed,
                "test_accuracy": test,
                "best_val_accuracy": run.best_value,
                "best_epoch": run.best_epoch,
                "s_per_epoch": run.seconds_per_epoch,
            }
            results.append(row)
            print(
                f"seed {seed}: test {100 * test:.2f}%  best val {100 * run.best_value:.2f}% (epoch {run.best_epoch})  "
                f"{run.seconds_per_epoch:.1f} s/epoch",
                flush=True,
            )

    tests = [r["test_accuracy"] for r in results]
    mean, std = statistics.mean(tests), statistics.stdev(tests) if len(tests) > 1 else 0.0
    s_per_epoch = statistics.mean(r["s_per_epoch"] for r in results)
    params = sum(p.numel() for p in model.parameters())
    print(
        f"\n{args.model} {model_kwargs or ''}({params:,} parameters), {base.epochs} epochs: "
        f"test accuracy {100 * mean:.2f}% ± {100 * std:.2f} over {len(seeds)} seed(s), {s_per_epoch:.1f} s/epoch, "
        f"{base.epochs * s_per_epoch / 60:.1f} min per run"
    )
    print(f"| `{args.model}` | {base.epochs} | {100 * mean:.2f}% ± {100 * std:.2f} | {s_per_epoch:.0f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "model": args.model,
                    "model_kwargs": model_kwargs,
                    "data": args.data,
                    "recipe": base.to_dict(),
                    "parameters": params,
                    "load_s": load_s,
                    "mean": mean,
                    "std": std,
                    "s_per_epoch": s_per_epoch,
                    "seeds": results,
                },
                f,
                indent=2,
            )


if __name__ == "__main__":
    main()
