"""Gated PixelCNN on binarised MNIST: test negative log-likelihood, time per epoch, samples.

Each seed trains as ``deepscope train pixelcnn --data binarized:mnist:PATH --seed S`` would
(the entry's recipe; the binarisation and the validation split drawn with the seed; the best
epoch kept by validation NLL), then scores the test split once. Prints, per seed and as
mean ± std, the test NLL in nats per image and in bits per pixel, the best validation NLL and
the seconds per epoch, and writes a grid of samples drawn pixel by pixel from the first seed's
model (for docs/pixelcnn.md).

    python benchmarks/pixelcnn.py                                   # the recipe (3 epochs), seeds 0,1,2
    python benchmarks/pixelcnn.py --epochs 1 --seeds 0 --limit 2000 # a quick check (a 2,000-image subset)
    python benchmarks/pixelcnn.py --device cuda --epochs 30 --channels 64 --layers 12 --batch-size 128

Published NLLs on (stochastically) binarised MNIST, for comparison: PixelCNN 81.30 nats
(van den Oord et al. 2016, "Pixel Recurrent Neural Networks"); the larger PixelCNN-family models
reach about 79-81 nats. Time per epoch means something only when nothing else runs on the
machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

from deepscope import data as data_module
from deepscope import fit, zoo
from deepscope.plots import image_grid_figure, save_figure

ROOT = Path(__file__).resolve().parents[1]
MNIST = Path(os.environ.get("DEEPSCOPE_MNIST", ROOT.parent / "shared" / "data" / "mnist"))
PUBLISHED = "PixelCNN 81.30 nats (van den Oord et al. 2016, Pixel RNN paper)"


def train_seed(args: argparse.Namespace, seed: int, runs_dir: str) -> tuple[dict, torch.nn.Module]:
    spec = args.data
    if args.limit:  # a subset of each class for quick checks; the test split stays whole
        spec += f"{'&' if '?' in spec else '?'}per_class={max(1, args.limit // 10)}"
    dataset = data_module.load(spec, seed=seed)
    kwargs = {k: v for k, v in (("channels", args.channels), ("layers", args.layers)) if v is not None}
    model = zoo.create("pixelcnn", data=dataset, seed=seed, **kwargs)
    overrides = {k: v for k, v in (("epochs", args.epochs), ("batch_size", args.batch_size), ("lr", args.lr)) if v}
    run = fit(model, dataset, runs_dir=runs_dir, progress=args.progress, device=args.device, seed=seed, **overrides)
    started = time.perf_counter()
    result = run.evaluate("test")  # the test split, once per seed, at the end
    return {
        "seed": seed,
        "test_nats": result.scores["nll_nats"],
        "test_bits_per_dim": result.scores["bits_per_dim"],
        "val_nats": run.best_value,
        "best_epoch": run.best_epoch,
        "epochs": len(run.history),
        "s_per_epoch": run.seconds_per_epoch,
        "s_evaluate_with_samples": time.perf_counter() - started,
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_images": len(dataset.train),
    }, run.model


def mean_std(values: list[float], digits: int = 2) -> str:
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.{digits}f} ± {std:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=f"binarized:mnist:{MNIST}", help="data spec (default: %(default)s)")
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs")
    parser.add_argument("--batch-size", type=int, help="override the recipe's batch size")
    parser.add_argument("--lr", type=float, help="override the recipe's learning rate")
    parser.add_argument("--channels", type=int, help="feature maps per stack (default: the entry's, 32)")
    parser.add_argument("--layers", type=int, help="gated layers (default: the entry's, 6)")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default: %(default)s)")
    parser.add_argument("--limit", type=int, help="train on about this many images (a per-class subset)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, ... (default: %(default)s)")
    parser.add_argument("--samples", type=int, default=64, help="images in the samples grid (default: %(default)s)")
    parser.add_argument("--figure", default=str(ROOT / "docs" / "images" / "pixelcnn_samples.png"))
    parser.add_argument("--json", help="write the results here as JSON")
    parser.add_argument("--progress", action="store_true", help="show the training progress")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]

    rows, first_model = [], None
    with tempfile.TemporaryDirectory() as runs_dir:
        for seed in seeds:
            row, model = train_seed(args, seed, runs_dir)
            rows.append(row)
            if first_model is None:
                first_model = model
            print(
                f"seed {seed}: test NLL {row['test_nats']:.2f} nats/image ({row['test_bits_per_dim']:.4f} bits/dim), "
                f"best val {row['val_nats']:.2f} at epoch {row['best_epoch']}/{row['epochs']}, "
                f"{row['s_per_epoch']:.0f} s/epoch, evaluation with 32 samples {row['s_evaluate_with_samples']:.0f} s",
                flush=True,
            )
    print(
        f"\npixelcnn ({rows[0]['parameters']:,} parameters, {rows[0]['train_images']:,} training images, "
        f"{rows[0]['epochs']} epochs, {len(seeds)} seeds): test NLL {mean_std([r['test_nats'] for r in rows])} "
        f"nats/image = {mean_std([r['test_bits_per_dim'] for r in rows], 4)} bits/dim; "
        f"{statistics.mean(r['s_per_epoch'] for r in rows):.0f} s/epoch. Published: {PUBLISHED}."
    )

    device = next(first_model.parameters()).device
    started = time.perf_counter()
    samples = first_model.sample(args.samples, generator=torch.Generator(device).manual_seed(0)).cpu()
    seconds = time.perf_counter() - started
    title = f"Gated PixelCNN samples (seed {seeds[0]}; test NLL {rows[0]['test_nats']:.1f} nats)"
    path = save_figure(image_grid_figure(samples.numpy(), columns=8, title=title), args.figure)
    print(f"{args.samples} samples in {seconds:.0f} s (784 steps each, batched) -> {path}")
    if args.json:
        Path(args.json).write_text(json.dumps({"published": PUBLISHED, "seeds": rows}, indent=2))


if __name__ == "__main__":
    main()
