"""IMDB test accuracy of the five text zoo entries vs Keras' published results.

Each model trains exactly as ``deepscope train MODEL --data imdb:PATH`` would (its zoo recipe
and text settings, seed 0, validation carved from the 25,000 training reviews), then is
evaluated once on the 25,000 test reviews. Prints one row per model: epochs, seconds per
epoch on this machine, test accuracy, the issue's target and Keras' figure.

    nice -n 5 python benchmarks/imdb_table.py --data /tmp/data/aclImdb --threads 1
    python benchmarks/imdb_table.py --models imdb_fasttext,imdb_cnn --json imdb.json

Get the data: shared/data/README.md (aclImdb, official layout; val/ is merged back into train).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from deepscope import data as data_module
from deepscope import runs, zoo

# (model, issue target, Keras' published test accuracy) — biggest value for the CPU time first
MODELS = [
    ("imdb_fasttext", 0.90, "0.9056 (5 epochs)"),
    ("imdb_cnn", 0.89, "0.89 (2 epochs)"),
    ("imdb_cnn_lstm", 0.85, "0.8498 (2 epochs)"),
    ("imdb_lstm", 0.85, "~0.81-0.83"),
    ("imdb_bidirectional_lstm", 0.85, "~0.81 (4 epochs)"),
]


def run_one(name: str, path: Path, runs_dir: Path, epochs: int | None) -> dict:
    entry = zoo.info(name)
    spec = data_module.spec_with_options(f"imdb:{path}", entry.data_options)
    started = time.perf_counter()
    data = data_module.load(spec)
    load_s = time.perf_counter() - started
    model = zoo.create(name, data=data, seed=entry.recipe.seed)
    recipe = entry.recipe.with_overrides(epochs=epochs)
    run = runs.fit(model, data, recipe, runs_dir=runs_dir, progress=False)
    result = run.evaluate("test")
    return {
        "model": name,
        "spec": spec,
        "epochs": len(run.history),
        "load_s": round(load_s, 1),
        "s_per_epoch": round(statistics.mean(r["time"] for r in run.history), 1),
        "best_val_accuracy": round(max(r["val_accuracy"] for r in run.history), 4),
        "test_accuracy": round(result.accuracy, 4),
        "parameters": sum(p.numel() for p in model.parameters()),
        "run": str(run.path),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", default=os.environ.get("DEEPSCOPE_IMDB", "/tmp/data/aclImdb"), help="the aclImdb folder"
    )
    parser.add_argument("--models", default=",".join(m for m, _, _ in MODELS))
    parser.add_argument("--epochs", type=int, help="override every recipe's epochs")
    parser.add_argument("--runs-dir", default=None, help="keep the run folders here (default: a temporary folder)")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    parser.add_argument("--threads", type=int, help="torch threads (1 is far faster on a CPU shared with other jobs)")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    known = {m: (t, k) for m, t, k in MODELS}
    chosen = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in chosen:
        zoo.info(m)  # unknown names fail here, with suggestions
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        runs_dir = Path(args.runs_dir or tmp)
        for name in chosen:
            row = run_one(name, Path(args.data), runs_dir, args.epochs)
            target, keras = known.get(name, (float("nan"), "-"))
            row.update(target=target, keras=keras, reached=row["test_accuracy"] >= target)
            rows.append(row)
            print(json.dumps(row), flush=True)
            if args.json:
                Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    print()
    print(
        f"{'model':<25} {'epochs':>6} {'s/epoch':>8} {'val acc':>8} {'test acc':>9} {'target':>7}  {'reached':<8} Keras"
    )
    for r in rows:
        print(
            f"{r['model']:<25} {r['epochs']:>6} {r['s_per_epoch']:>8.1f} {r['best_val_accuracy']:>8.4f} "
            f"{r['test_accuracy']:>9.4f} {r['target']:>7.2f}  {'yes' if r['reached'] else 'NO':<8} {r['keras']}"
        )


if __name__ == "__main__":
    main()
