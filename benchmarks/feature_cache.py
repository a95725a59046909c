"""Feature caching: the frozen phase of a fine-tuning run with and without cached features.

Trains Keras' mnist_transfer_cnn on digits 0-4 once (or takes ``--source RUN``), then runs its
transfer phase (``deepscope finetune RUN --data "mnist:D?classes=5,6,7,8,9"``: the convolutional
layers frozen, the dense layers trained) with and without ``--cache-features``, alternating the
order over ``--repeats``. Prints the seconds of each, their ratio (measured in the same run),
and each variant's test accuracy on digits 5-9 (scored once per variant, at the end). Run it on
an idle machine: the seconds are wall-clock.

    python benchmarks/feature_cache.py --data mnist:../shared/data/mnist --repeats 2
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
    parser.add_argument("--data", default="mnist:../shared/data/mnist")
    parser.add_argument("--source", help="a run folder trained on digits 0-4 (default: train one)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    seconds: dict[bool, list[float]] = {False: [], True: []}
    tests: dict[bool, float] = {}
    with tempfile.TemporaryDirectory() as runs_dir:
        source = (
            args.source
            or runs.train(
                "mnist_transfer_cnn", f"{args.data}?classes=0,1,2,3,4", runs_dir=runs_dir, progress=False
            ).path
        )
        for repeat in range(args.repeats):
            for cache in (False, True) if repeat % 2 == 0 else (True, False):
                started = time.perf_counter()
                run = runs.finetune(
                    source, f"{args.data}?classes=5,6,7,8,9", cache_features=cache, runs_dir=runs_dir, progress=False
                )
                seconds[cache].append(time.perf_counter() - started)
                if cache not in tests:
                    tests[cache] = run.evaluate("test").accuracy
                print(f"repeat {repeat}: cache_features={cache}: {seconds[cache][-1]:.1f} s", flush=True)
    print(f"\nmnist_transfer_cnn transfer phase (digits 5-9), {args.threads} threads, {args.repeats} repeats")
    for cache in (False, True):
        values = seconds[cache]
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        print(
            f"cache_features={str(cache):<5}  {statistics.mean(values):6.1f} s ± {spread:.1f}   "
            f"test accuracy {100 * tests[cache]:.2f}%"
        )
    print(f"speed-up: {statistics.mean(seconds[False]) / statistics.mean(seconds[True]):.2f}x")


if __name__ == "__main__":
    main()
