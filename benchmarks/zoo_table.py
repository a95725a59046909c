"""The headline table: every zoo entry, its default recipe, mean ± std over seeds.

Each row trains exactly as ``deepscope train MODEL --data SPEC --seed S`` would (the entry's
recipe and data settings; the validation split carved with the same seed), evaluates the test
split once at the end, and repeats for each seed. It prints name, data, reference, test score
mean ± standard deviation, best validation score and seconds per epoch; README and docs take
their tables from this output (``--markdown``).

``cross`` rows train an image recipe on a dataset it was *not* chosen on, to check that the
recipe holds beyond the data it was tuned for (an honest recipe should still train well).

    python benchmarks/zoo_table.py                                  # every row whose data is here, 3 seeds
    python benchmarks/zoo_table.py --only mnist_mlp,softmax_regression --seeds 0,1,2
    python benchmarks/zoo_table.py --only lecture_cnn --markdown table.md --json table.json
    DEEPSCOPE_IMDB=/tmp/data/aclImdb python benchmarks/zoo_table.py --only imdb_cnn

Data: MNIST from ../shared/data/mnist (or DEEPSCOPE_MNIST), IMDB from DEEPSCOPE_IMDB; UCR
sets and Airline come with aeon; rows whose data is absent are listed as skipped.
Time per epoch is only meaningful when nothing else runs on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

from deepscope import runs, zoo

ROOT = Path(__file__).resolve().parents[1]
MNIST = Path(os.environ.get("DEEPSCOPE_MNIST", ROOT.parent / "shared" / "data" / "mnist"))
IMDB = os.environ.get("DEEPSCOPE_IMDB")


@dataclass(frozen=True)
class Row:
    model: str
    data: str  # the spec; {mnist} and {imdb} are filled in from the paths above
    cross: bool = False  # the recipe was chosen on other data
    metric: str | None = None  # the headline score (default: accuracy, else MASE, else MSE)


ROWS = [
    Row("lecture_cnn", "digits"),
    Row("softmax_regression", "mnist:{mnist}"),
    Row("mlp", "mnist:{mnist}"),
    Row("mnist_mlp", "mnist:{mnist}"),
    Row("mnist_cnn", "mnist:{mnist}"),
    Row("mnist_hierarchical_rnn", "mnist:{mnist}"),
    Row("addition_rnn", "addition"),
    Row("conv_lstm", "moving_squares"),
    Row("fcn", "ucr:ItalyPowerDemand"),
    Row("resnet1d", "ucr:GunPoint"),
    Row("inception_time", "ucr:GunPoint"),
    Row("lstm_classifier", "ucr:JapaneseVowels"),
    Row("gru_classifier", "ucr:JapaneseVowels"),
    Row("cnn1d", "ucr:GunPoint"),
    Row("forecast_mlp", "series:Airline"),
    Row("mnist_siamese", "pairs:mnist:{mnist}"),
    Row("autoencoder", "mnist:{mnist}", metric="psnr"),
    Row("mnist_denoising_autoencoder", "mnist:{mnist}", metric="psnr_gain"),
    Row("variational_autoencoder", "mnist:{mnist}", metric="elbo"),
    Row("mnist_swwae", "mnist:{mnist}", metric="psnr"),
    *(
        Row(name, "imdb:{imdb}")
        for name in ("imdb_fasttext", "imdb_cnn", "imdb_cnn_lstm", "imdb_lstm", "imdb_bidirectional_lstm")
    ),
    # the image recipes on data they were not chosen on
    Row("mnist_cnn", "digits", cross=True),
    Row("mnist_mlp", "digits", cross=True),
    Row("fcn", "ucr:GunPoint", cross=True),
]


def spec_of(row: Row) -> str | None:
    """The row's data spec, or None when its data is not on this machine."""
    if "{mnist}" in row.data and not (MNIST / "train-images-idx3-ubyte.gz").is_file():
        return None
    if "{imdb}" in row.data and not IMDB:
        return None
    return row.data.format(mnist=MNIST, imdb=IMDB)


def score(evaluation, metric: str | None = None) -> tuple[str, float]:
    """The headline number of an evaluation: ``metric``, else accuracy, or MASE/MSE for regression."""
    scores = evaluation.to_dict()
    for key in (metric,) if metric else ("accuracy", "mase", "mse"):
        if key in scores and isinstance(scores[key], (int, float)):
            return key, float(scores[key])
    raise KeyError(f"no headline score in {sorted(scores)}")


def run_row(row: Row, spec: str, seeds: list[int], epochs: int | None) -> dict:
    results = []
    with tempfile.TemporaryDirectory() as runs_dir:
        for seed in seeds:
            run = runs.train(
                row.model, spec, runs_dir=runs_dir, progress=False, seed=seed, **({"epochs": epochs} if epochs else {})
            )
            metric, value = score(run.evaluate("test"), row.metric)  # the test split, once per seed, at the end
            results.append(
                {
                    "seed": seed,
                    "test": value,
                    "val": run.best_value,
                    "epochs": len(run.history),
                    "s_per_epoch": run.seconds_per_epoch,
                    "monitor": run.monitor,
                }
            )
    tests = [r["test"] for r in results]
    return {
        "model": row.model,
        "data": spec,
        "cross": row.cross,
        "reference": zoo.info(row.model).reference,
        "metric": metric,
        "mean": statistics.mean(tests),
        "std": statistics.stdev(tests) if len(tests) > 1 else 0.0,
        "val_mean": statistics.mean(r["val"] for r in results),
        "monitor": results[0]["monitor"],
        "epochs": results[0]["epochs"],
        "s_per_epoch": statistics.mean(r["s_per_epoch"] for r in results),
        "seeds": results,
    }


def markdown(rows: list[dict], n_seeds: int) -> str:
    lines = [
        f"| model | data | test (mean ± std, {n_seeds} seeds) | best validation | epochs | s/epoch | reference |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        data = Path(r["data"].partition(":")[2]).name if "/" in r["data"] else r["data"]
        data = f"{r['data'].partition(':')[0]}:{data}" if "/" in r["data"] else data
        pct = r["metric"] == "accuracy"
        value = (
            f"{100 * r['mean']:.2f}% ± {100 * r['std']:.2f}"
            if pct
            else f"{r['metric']} {r['mean']:.4f} ± {r['std']:.4f}"
        )
        ref = "(recipe not chosen on this data)" if r["cross"] else r["reference"]
        lines.append(
            f"| `{r['model']}` | {data} | {value} | {r['monitor']} {r['val_mean']:.4f} | {r['epochs']} | "
            f"{r['s_per_epoch']:.2f} | {ref} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated model names (default: every row whose data is here)")
    parser.add_argument("--cross", action="store_true", help="only the cross-data rows")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, help="override every recipe's epochs (a quick smoke run, not a figure)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", help="write the rows as JSON here")
    parser.add_argument("--markdown", help="write the table as Markdown here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    seeds = [int(s) for s in args.seeds.split(",")]
    wanted = set(args.only.split(",")) if args.only else None
    done = []
    for row in ROWS:
        if (wanted and row.model not in wanted) or (args.cross and not row.cross):
            continue
        spec = spec_of(row)
        if spec is None:
            print(f"skipped {row.model} on {row.data}: data absent (see the docstring)", flush=True)
            continue
        result = run_row(row, spec, seeds, args.epochs)
        done.append(result)
        print(
            f"{result['model']:<24} {result['data'][-32:]:<32} {result['metric']} {result['mean']:.4f} ± "
            f"{result['std']:.4f}  {result['monitor']} {result['val_mean']:.4f}  {result['s_per_epoch']:.2f} s/epoch"
            f"{'  (cross)' if row.cross else ''}",
            flush=True,
        )
    table = markdown(done, len(seeds))
    print("\n" + table)
    if args.json:
        Path(args.json).write_text(json.dumps(done, indent=2) + "\n", encoding="utf-8")
    if args.markdown:
        Path(args.markdown).write_text(table, encoding="utf-8")


if __name__ == "__main__":
    main()
