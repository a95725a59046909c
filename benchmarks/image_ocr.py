"""image_ocr on rendered words: mean normalised edit distance on the test words, over seeds.

For each seed, ``deepscope train image_ocr words`` with the entry's recipe (the seed draws the
training words, the initial weights and the batch order; the 2,000 test words are the same
for every seed), keeping the epoch with the best validation edit distance; the test split is
scored once per run, with greedy decoding and with a prefix beam search (width 10). Prints
each seed's figures, then mean ± std, and the seconds per training epoch.

    python benchmarks/image_ocr.py                       # the recipe, seeds 0,1,2 (~10 min a seed on 2 cores)
    python benchmarks/image_ocr.py --seeds 0 --epochs 1 --data "words?train=500&test=100"   # a smoke test
"""

from __future__ import annotations

import argparse
import statistics
import tempfile

import torch

from deepscope import runs, zoo

SCORES = {
    "edit_distance": "edit distance, greedy",
    "beam_edit_distance": "edit distance, beam",
    "accuracy": "word accuracy, greedy",
    "beam_accuracy": "word accuracy, beam",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="words", help="data spec (default: words, with the entry's settings)")
    parser.add_argument("--epochs", type=int, help="epochs (default: the recipe's)")
    parser.add_argument("--seeds", default="0,1,2")
    args = parser.parse_args()
    recipe = zoo.info("image_ocr").recipe
    epochs = args.epochs or recipe.epochs
    results: dict[str, list[float]] = {key: [] for key in SCORES}
    seconds: list[float] = []
    with tempfile.TemporaryDirectory() as runs_dir:
        for seed in (int(s) for s in args.seeds.split(",")):
            run = runs.train("image_ocr", args.data, epochs=epochs, seed=seed, runs_dir=runs_dir, progress=False)
            scores = run.evaluate("test").scores
            for key in SCORES:
                results[key].append(scores[key])
            seconds.append(run.seconds_per_epoch or float("nan"))
            print(
                f"seed {seed}: "
                + ", ".join(f"{label} {scores[key]:.4f}" for key, label in SCORES.items())
                + f" (best epoch {run.best_epoch}, val edit distance {run.best_value:.4f}, "
                f"{seconds[-1]:.0f} s/epoch)",
                flush=True,
            )
    print(f"\nimage_ocr on {args.data}, {epochs} epochs, seeds {args.seeds}, {torch.get_num_threads()} threads")
    for key, label in SCORES.items():
        values = results[key]
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        print(f"{label:<24} {statistics.mean(values):.4f} ± {spread:.4f}")
    print(f"{'seconds per epoch':<24} {statistics.mean(seconds):.1f}")
    print("Keras image_ocr.py (TensorFlow): 0.027 after 10 epochs, 0.038 after 15, 0.043 after 20, 0.014 after 25")


if __name__ == "__main__":
    main()
