"""The GPU figures in one command (about 5 minutes on one H100/H200):

1. ``mnist_cnn`` with its recipe on MNIST: seconds of training and the test accuracy (target
   99.25%), on the GPU with the ``auto`` speed settings;
2. ``mnist_cnn`` training throughput (samples/s, the second epoch) with fp32, bf16 autocast,
   bf16 + channels_last and bf16 + ``torch.compile``, each against fp32 in the same run;
3. CIFAR-10 (the JPEG folders ``train/<class>``, ``test/<class>``) with a small ResNet-class
   network and a short schedule (the recipe below): seconds of training and test accuracy
   (target 94% in <= 10 s; airbench, the public record, reaches 94% in about 3-4 s on an A100).

Prints one table and writes it as JSON to ``--out``. It never runs in the test suite.

    python benchmarks/gpu_check.py --mnist shared/data/mnist --cifar /tmp/data/cifar10 --out gpu.json

The CIFAR-10 network (``SpeedNet``) follows the shape of the fast-training literature (Page's
DAWNBench ResNet, Jordan's airbench): a conv stem, then three stages of conv -> max-pool ->
BatchNorm -> GELU -> conv -> BatchNorm -> GELU at widths 64/256/256, a global max-pool and a
linear head scaled down; trained with SGD (momentum 0.9) at batch 1024 with a one-cycle
rate, flips and 2-pixel translations (no label smoothing: the trainer has none yet), bf16 and channels_last, the data held on the GPU, and the
test images scored with their mirror images too (test-time flip). Written here from that
description; its settings are a starting point, to be tuned on the validation split when a
GPU is available.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from torch import nn


class SpeedNet(nn.Module):
    """A small ResNet-class CIFAR-10 network for short schedules: (N, 3, 32, 32) -> (N, 10)."""

    def __init__(self, widths: tuple[int, int, int] = (64, 256, 256), stem: int = 24, scale: float = 1 / 9):
        super().__init__()

        def unit(cin: int, cout: int, pool: bool) -> list[nn.Module]:
            layers: list[nn.Module] = [nn.Conv2d(cin, cout, 3, padding=1, bias=False)]
            if pool:
                layers.append(nn.MaxPool2d(2))
            return [*layers, nn.BatchNorm2d(cout), nn.GELU()]

        layers = [nn.Conv2d(3, stem, 2, padding=0, bias=True), nn.GELU()]  # 2x2 stem: 31x31
        cin = stem
        for width in widths:
            layers += unit(cin, width, pool=True) + unit(width, width, pool=False)
            cin = width
        self.body = nn.Sequential(*layers, nn.AdaptiveMaxPool2d(1), nn.Flatten())
        self.head = nn.Linear(cin, 10, bias=False)
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x)) * self.scale


def mnist_to_target(spec: str, device: str) -> dict:
    from deepscope import runs

    started = time.perf_counter()
    run = runs.train("mnist_cnn", spec, device=device, progress=False, runs_dir="/tmp/gpu-check-runs")
    seconds = time.perf_counter() - started
    return {"mnist_cnn_seconds": seconds, "mnist_cnn_test_accuracy": run.evaluate("test").accuracy}


def mnist_throughput(spec: str, device: str) -> dict:
    from deepscope import zoo
    from deepscope.data import load
    from deepscope.train import fit

    data = load(spec)
    rates = {}
    settings = {
        "fp32": {"precision": "fp32", "channels_last": False, "compile": False},
        "bf16": {"precision": "bf16", "channels_last": False, "compile": False},
        "bf16+channels_last": {"precision": "bf16", "channels_last": True, "compile": False},
        "bf16+compile": {"precision": "bf16", "channels_last": False, "compile": True},
    }
    for name, speed in settings.items():
        model = zoo.create("mnist_cnn", data=data, seed=0)
        run = fit(model, data, epochs=2, device=device, progress=False, runs_dir="/tmp/gpu-check-runs", **speed)
        rates[name] = run.history[-1]["samples_per_s"]
    return {f"mnist_cnn_samples_per_s_{k}": v for k, v in rates.items()} | {
        f"mnist_cnn_speedup_{k}": v / rates["fp32"] for k, v in rates.items()
    }


def cifar_speedrun(folder: str, device: str, epochs: int) -> dict:
    from deepscope.data import load
    from deepscope.train import fit

    data = load(f"images:{folder}", val_fraction=0.0)
    mean = data.train.tensors[0].mean(dim=(0, 2, 3), keepdim=True)
    std = data.train.tensors[0].std(dim=(0, 2, 3), keepdim=True)

    class Normalised(nn.Module):
        def __init__(self, net: nn.Module):
            super().__init__()
            self.net = net
            self.register_buffer("mean", mean.clone())
            self.register_buffer("std", std.clone())

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net((x - self.mean) / self.std)

    torch.manual_seed(0)
    model = Normalised(SpeedNet())
    started = time.perf_counter()
    run = fit(
        model, data, epochs=epochs, batch_size=1024, optimizer="sgd", lr=0.2, momentum=0.9, weight_decay=5e-4,
        schedule="onecycle", augment="flip+shift=0.0625", device=device, precision="bf16",
        channels_last=True, progress=False, runs_dir="/tmp/gpu-check-runs",
    )  # fmt: skip
    seconds = time.perf_counter() - started
    model = run.model.eval()
    x, y = data.test.tensors
    correct = 0
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
        for i in range(0, len(x), 2000):
            xb = x[i : i + 2000].to(device)
            logits = model(xb) + model(xb.flip(-1))  # test-time flip
            correct += int((logits.argmax(1).cpu() == y[i : i + 2000]).sum())
    return {"cifar10_seconds": seconds, "cifar10_epochs": epochs, "cifar10_test_accuracy": correct / len(y)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", default="shared/data/mnist")
    parser.add_argument("--cifar", default="/tmp/data/cifar10")
    parser.add_argument("--cifar-epochs", type=int, default=10)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--out", default="gpu_check.json")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: mnist, throughput, cifar")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("No CUDA GPU: this script measures the GPU figures of docs/scale.md.")
    results = {"device": torch.cuda.get_device_name(), "torch": torch.__version__}
    skip = set(args.skip.split(","))
    if "mnist" not in skip:
        results |= mnist_to_target(f"mnist:{args.mnist}", args.device)
    if "throughput" not in skip:
        results |= mnist_throughput(f"mnist:{args.mnist}", args.device)
    if "cifar" not in skip and Path(args.cifar).is_dir():
        results |= cifar_speedrun(args.cifar, args.device, args.cifar_epochs)
    for key, value in results.items():
        print(f"{key:<45} {value:.4g}" if isinstance(value, float) else f"{key:<45} {value}")
    Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
