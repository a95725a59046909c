"""How close training gets to the hardware: achieved GFLOP/s of a zoo model's training step
against this machine's measured fp32 matrix-multiply peak, same threads, same process.

- peak: the best of several timed ``torch.mm`` of two N x N float32 matrices (2 N^3 FLOPs
  each), after a warm-up;
- the model: FLOPs of one training step (forward + backward at the batch size) counted by
  torch's own ``torch.utils.flop_counter.FlopCounterMode`` (matmuls and convolutions; the
  elementwise work is not counted, so the figure is a lower bound), then ``deepscope.fit``
  timed over STEPS steps on real data (no validation pass).

    python benchmarks/gflops.py --model mnist_cnn --data mnist:../shared/data/mnist --batch 128
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace

import torch
import torch.nn.functional as F
from torch.utils.data import TensorDataset
from torch.utils.flop_counter import FlopCounterMode

from deepscope import data as data_module
from deepscope import zoo
from deepscope.train import fit


def matmul_peak(n: int, repeats: int) -> float:
    """Best GFLOP/s of an n x n float32 matrix product."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def step_flops(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    """FLOPs of one forward + backward pass on the batch (x, y), as torch counts them."""
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x), y).backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mnist_cnn")
    parser.add_argument("--data", default="mnist:../shared/data/mnist")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--matmul", type=int, default=2048, help="side of the matrices for the peak")
    args = parser.parse_args()
    data = data_module.load(args.data)
    x, y = data.train.tensors
    n = args.steps * args.batch
    empty = TensorDataset(x[:0], y[:0])  # no validation pass: the timed work is the training steps
    subset = replace(data, train=TensorDataset(x[:n].contiguous(), y[:n].contiguous()), val=empty, test=empty)
    model = zoo.create(args.model, data=subset, seed=0)
    flops = step_flops(model, x[: args.batch], y[: args.batch])
    peak_before = matmul_peak(args.matmul, 10)
    with tempfile.TemporaryDirectory() as tmp:  # warm-up: allocator, kernels, caches
        fit(model, subset, epochs=1, batch_size=args.batch, out=f"{tmp}/run", progress=False)
    model = zoo.create(args.model, data=subset, seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        fit(model, subset, epochs=1, batch_size=args.batch, out=f"{tmp}/run", progress=False)
        seconds = time.perf_counter() - start
    peak_after = matmul_peak(args.matmul, 10)
    peak = max(peak_before, peak_after)
    achieved = flops * args.steps / seconds / 1e9
    print(f"{args.model}, batch {args.batch}, {args.steps} steps, {torch.get_num_threads()} threads")
    print(
        f"fp32 matmul peak ({args.matmul}x{args.matmul}): {peak:.1f} GFLOP/s (before {peak_before:.1f}, after {peak_after:.1f})"
    )
    print(f"training step: {flops / 1e9:.3f} GFLOP (matmuls and convolutions, forward + backward)")
    print(
        f"deepscope.fit: {n / seconds:.0f} samples/s = {achieved:.1f} GFLOP/s = {100 * achieved / peak:.1f}% of the peak"
    )


if __name__ == "__main__":
    main()
