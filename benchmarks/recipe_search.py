"""Choose a zoo entry's recipe on the validation split -- never on the test split.

Trains the entry once per point of a grid of recipe overrides (and data settings, for text),
exactly as ``deepscope train`` would, and ranks the points by the best validation value of
the recipe's monitor (the value whose weights ``fit`` keeps). The test split is not touched:
the chosen recipe is scored on test once, by ``benchmarks/zoo_table.py``.

    python benchmarks/recipe_search.py mnist_cnn --data mnist:../shared/data/mnist \\
        --grid batch_size=32,64,128 lr=3e-3,5e-3 augment=none,auto
    python benchmarks/recipe_search.py imdb_lstm --data imdb:/tmp/data/aclImdb --grid maxlen=80,120,200
    python benchmarks/recipe_search.py lecture_cnn --grid lr=1e-3,3e-3 --seeds 0,1,2 --json search.json

Grid keys are Recipe fields or data settings (added to the spec after '?'); values are
comma-separated. With several seeds, points are ranked by the mean validation value.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import tempfile
from dataclasses import fields

from deepscope import runs, zoo
from deepscope.data import spec_with_options
from deepscope.recipe import Recipe, parse_value
from deepscope.train import make_task

RECIPE_FIELDS = {f.name: f.type for f in fields(Recipe)}


def parse_grid(items: list[str]) -> dict[str, list]:
    grid = {}
    for item in items:
        key, _, values = item.partition("=")
        if not values:
            raise SystemExit(f"--grid takes KEY=V1,V2,... Received: {item!r}")
        grid[key] = [parse_value(v) for v in values.split(",")]
    return grid


def train_point(model: str, spec: str, point: dict, seed: int, epochs: int | None, runs_dir: str) -> dict:
    recipe = {k: v for k, v in point.items() if k in RECIPE_FIELDS}
    settings = {k: v for k, v in point.items() if k not in RECIPE_FIELDS}
    if epochs is not None:
        recipe["epochs"] = epochs
    run = runs.train(
        model,
        spec_with_options(spec, settings) if settings else spec,
        runs_dir=runs_dir,
        progress=False,
        seed=seed,
        **recipe,
    )
    return {
        "monitor": run.monitor,
        "best_val": run.best_value,
        "best_epoch": run.best_epoch,
        "s_per_epoch": run.seconds_per_epoch,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--data", default="digits")
    parser.add_argument("--grid", nargs="+", default=[], metavar="KEY=V1,V2")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (default: 0)")
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs for every point")
    parser.add_argument("--json", help="write the table as JSON here")
    args = parser.parse_args()
    zoo.info(args.model)  # fail early on a wrong name
    grid = parse_grid(args.grid)
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as runs_dir:
        for values in itertools.product(*grid.values()) if grid else [()]:
            point = dict(zip(grid, values))
            results = [train_point(args.model, args.data, point, s, args.epochs, runs_dir) for s in seeds]
            vals = [r["best_val"] for r in results]
            row = {
                **point,
                "monitor": results[0]["monitor"],
                "val_mean": statistics.mean(vals),
                "val_std": statistics.stdev(vals) if len(vals) > 1 else 0.0,
                "s_per_epoch": statistics.mean(r["s_per_epoch"] for r in results),
                "seeds": seeds,
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    metric = rows[0]["monitor"].removeprefix("val_")
    higher = make_task(zoo.info(args.model).task).higher_is_better.get(metric, not metric.endswith(("loss", "mae")))
    rows.sort(key=lambda r: -r["val_mean"] if higher else r["val_mean"])
    print(f"\n{args.model} on {args.data}: ranked by {rows[0]['monitor']} (validation split only)")
    for row in rows:
        point = ", ".join(f"{k}={row[k]}" for k in grid) or "(the recipe as it is)"
        print(f"  {row['val_mean']:.4f} ± {row['val_std']:.4f}  {row['s_per_epoch']:.1f} s/epoch  {point}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
