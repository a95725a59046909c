"""Few labelled texts: the pretrained MiniLM encoder against every from-scratch zoo text model.

For each seed, on the same labelled subset (``imdb:D?per_class=N``: N reviews of each class,
the validation split carved from them) and the same fixed test subset (``test_per_class=M``:
scoring MiniLM on all 25,000 test reviews takes ~20 minutes on a 2-core CPU):
- each from-scratch text model (``imdb_fasttext``, ``imdb_cnn``, ``imdb_cnn_lstm``,
  ``imdb_lstm``, ``imdb_bidirectional_lstm``): ``deepscope train MODEL --data SPEC``, its recipe;
- ``deepscope finetune minilm --data SPEC``: the frozen encoder's embeddings, a trained head;
  with ``--minilm epochs=32 --minilm freeze_epochs=30 --minilm batch_size=16`` (recipe
  overrides, as ``deepscope finetune``'s flags give them), then two epochs end to end;
  ``--minilm-data truncating=middle`` (or ``maxlen=256``) changes MiniLM's text settings only.
Each run keeps its best epoch by validation accuracy; its test subset is scored once, at the
end. Prints each model's validation and test accuracy, mean ± std over the seeds; the best
from-scratch model is the one with the best mean *validation* accuracy.

    python benchmarks/text_encoder_table.py --data /tmp/data/aclImdb --per-class 1000 --test-per-class 1000
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch

from deepscope import runs
from deepscope.recipe import parse_value

SCRATCH = ("imdb_fasttext", "imdb_cnn", "imdb_cnn_lstm", "imdb_lstm", "imdb_bidirectional_lstm")


def _line(name: str, values: list[float]) -> str:
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * statistics.mean(values):.2f}% ± {100 * spread:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the aclImdb folder")
    parser.add_argument("--per-class", type=int, default=1000)
    parser.add_argument("--test-per-class", type=int, default=1000)
    parser.add_argument("--models", default=",".join(SCRATCH) + ",minilm")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--minilm-data", action="append", default=[], metavar="KEY=VALUE", help="a text setting for minilm's data only"
    )
    parser.add_argument(
        "--minilm", action="append", default=[], metavar="FIELD=VALUE", help="a recipe override for minilm"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    overrides = {}
    for item in args.minilm:
        field, _, value = item.partition("=")
        if not value:
            parser.error(f"--minilm takes FIELD=VALUE. Received: {item!r}")
        overrides[field] = parse_value(value)
    spec = f"imdb:{args.data}?per_class={args.per_class}&test_per_class={args.test_per_class}"
    minilm_spec = "&".join([spec, *args.minilm_data])  # e.g. truncating=middle, maxlen=256
    val: dict[str, list[float]] = {}
    test: dict[str, list[float]] = {}
    seconds: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as runs_dir:
        for seed in (int(s) for s in args.seeds.split(",")):
            for model in args.models.split(","):
                started = time.perf_counter()
                common = {"seed": seed, "runs_dir": runs_dir, "progress": False}
                run = (
                    runs.finetune(model, minilm_spec, **common, **overrides)
                    if model == "minilm"
                    else runs.train(model, spec, **common)
                )
                score = run.evaluate("test").accuracy
                seconds.setdefault(model, []).append(time.perf_counter() - started)
                val.setdefault(model, []).append(run.best_value)
                test.setdefault(model, []).append(score)
                print(
                    f"seed {seed} {model:<24} val {run.best_value:.4f} test {score:.4f} ({seconds[model][-1]:.0f} s)",
                    flush=True,
                )
    print(
        f"\n{spec}, seeds {args.seeds}, {args.threads} threads, minilm overrides {overrides or 'none'}, "
        f"minilm data {args.minilm_data or 'as its entry declares'}"
    )
    print(f"{'model':<24} {'validation':>16} {'test':>16} {'seconds':>8}")
    for model in val:
        print(
            f"{model:<24} {_line(model, val[model]):>16} {_line(model, test[model]):>16} {statistics.mean(seconds[model]):8.0f}"
        )
    scratch = [m for m in val if m != "minilm"]
    if scratch and "minilm" in val:
        best = max(scratch, key=lambda m: statistics.mean(val[m]))
        gap = 100 * (statistics.mean(test["minilm"]) - statistics.mean(test[best]))
        print(f"best from scratch (by validation): {best}; minilm - {best}: {gap:+.2f} points of test accuracy")


if __name__ == "__main__":
    main()
