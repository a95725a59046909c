"""One setting against another, over seeds: validation and test side by side.

Trains zoo entry MODEL on SPEC with its recipe once per seed and per value of one recipe field
(``--vary augment=none,auto``), exactly as ``deepscope train MODEL --data SPEC --FIELD VALUE
--seed S``; prints each setting's best validation value and test accuracy, mean ± std over the
seeds. The test split of every run is scored once, at the end, for the record: a choice
between the settings is made on the validation column.

    python benchmarks/ablation.py mnist_cnn --data "mnist:../shared/data/mnist?per_class=100" --vary augment=none,auto
"""

from __future__ import annotations

import argparse
import statistics
import tempfile

import torch

from deepscope import runs
from deepscope.recipe import parse_value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--data", required=True)
    parser.add_argument("--vary", required=True, help="FIELD=V1,V2,...")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs for every run (say so)")
    args = parser.parse_args()
    field, _, values = args.vary.partition("=")
    seeds = [int(s) for s in args.seeds.split(",")]
    results: dict[str, list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as runs_dir:
        for value in values.split(","):
            for seed in seeds:
                overrides = {field: None if value == "None" else parse_value(value), "seed": seed}
                if args.epochs:
                    overrides["epochs"] = args.epochs
                run = runs.train(args.model, args.data, runs_dir=runs_dir, progress=False, **overrides)
                test = run.evaluate("test").accuracy
                results.setdefault(value, []).append((run.best_value, test))
                print(f"{field}={value} seed {seed}: {run.monitor} {run.best_value:.4f}, test {test:.4f}", flush=True)
    print(f"\n{args.model} on {args.data}, seeds {args.seeds}, {torch.get_num_threads()} threads")
    print(f"{field:<22} {'validation':>18} {'test accuracy':>18}")
    for value, pairs in results.items():
        cells = []
        for column in (0, 1):
            xs = [p[column] for p in pairs]
            spread = statistics.stdev(xs) if len(xs) > 1 else 0.0
            cells.append(f"{100 * statistics.mean(xs):.2f}% ± {100 * spread:.2f}")
        print(f"{value:<22} {cells[0]:>18} {cells[1]:>18}")


if __name__ == "__main__":
    main()
