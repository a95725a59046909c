"""Training throughput against Keras 3, side by side: same architecture, batch size and data.

Two workloads, each framework mode in its own process, the modes alternated over ``--rounds``
(the order reversed every other round), the first epoch excluded as warm-up:

- ``cnn``: Keras' mnist_cnn (conv 32, conv 64, max-pool, dropout, dense 128, dropout, dense 10;
  Adadelta in Keras' example, Adam here for every framework) on ``--cnn-samples`` MNIST
  training images, batch 128;
- ``lstm``: Embedding(20000, 128) -> LSTM(128) -> dense, on IMDB reviews cut to 80 tokens
  (``--lstm-samples`` of them), batch 32, Adam.

Modes: ``torch`` (a plain PyTorch loop, the reference), ``deepscope`` (``deepscope.fit`` on
the zoo entry with its default configuration), ``keras-torch`` and ``keras-jax`` (Keras 3 on
each backend, ``model.fit``). Prints samples/s per mode (mean over rounds) and deepscope's
ratio to the faster Keras backend, measured in the same run. Needs ``pip install keras jax``;
run it on an idle machine: the seconds are wall-clock.

    python benchmarks/keras_side_by_side.py --mnist ../shared/data/mnist --imdb /tmp/data/data/aclImdb
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODES = ("torch", "deepscope", "keras-torch", "keras-jax")


def dataset(workload: str, args: argparse.Namespace):
    """deepscope's Dataset with the workload's training samples (MNIST images (N, 1, 28, 28)
    float32, or IMDB ids (N, 80) int64) and no validation split."""
    from dataclasses import replace

    from torch.utils.data import TensorDataset

    from deepscope.data import load

    if workload == "cnn":
        data, n = load(f"mnist:{args.mnist}"), args.cnn_samples
    else:
        data, n = load(f"imdb:{args.imdb}?maxlen=80&max_words=20000"), args.lstm_samples
    x, y = data.train.tensors
    return replace(data, train=TensorDataset(x[:n], y[:n]), val=TensorDataset(x[:0], y[:0]))


def run_torch(workload: str, x, y, batch: int, epochs: int) -> list[float]:
    import torch
    from torch import nn

    torch.manual_seed(0)
    if workload == "cnn":
        model = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
            nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10),
        )  # fmt: skip
    else:

        class LSTMNet(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = nn.Embedding(20002, 128)
                self.lstm = nn.LSTM(128, 128, batch_first=True)
                self.head = nn.Linear(128, 2)

            def forward(self, ids):
                _, (h, _) = self.lstm(self.emb(ids))
                return self.head(h[0])

        model = LSTMNet()
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    seconds = []
    for _ in range(epochs):
        started = time.perf_counter()
        order = torch.randperm(len(xt))
        for i in range(0, len(xt), batch):
            idx = order[i : i + batch]
            loss = nn.functional.cross_entropy(model(xt[idx]), yt[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        seconds.append(time.perf_counter() - started)
    return seconds


def run_deepscope(workload: str, data, batch: int, epochs: int) -> list[float]:
    from deepscope import zoo
    from deepscope.train import fit

    name = "mnist_cnn" if workload == "cnn" else "imdb_lstm"
    model = zoo.create(name, data=data, seed=0)
    with tempfile.TemporaryDirectory() as out:
        run = fit(
            model, data, out=Path(out) / "run", epochs=epochs, batch_size=batch, optimizer="adam", lr=1e-3,
            schedule="constant", augment="none", progress=False,
        )  # fmt: skip
    return [row["time"] for row in run.history]


def run_keras(workload: str, x, y, batch: int, epochs: int) -> list[float]:
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    if workload == "cnn":
        x = x.transpose(0, 2, 3, 1)  # NHWC: Keras' default layout
        model = keras.Sequential(
            [
                keras.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu"),
                layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2), layers.Dropout(0.25),
                layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dropout(0.5), layers.Dense(10),
            ]
        )  # fmt: skip
    else:
        model = keras.Sequential(
            [keras.Input((80,), dtype="int32"), layers.Embedding(20002, 128), layers.LSTM(128), layers.Dense(2)]
        )
        x = x.astype("int32")
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )

    class Timer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.started)

    timer = Timer()
    model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0, callbacks=[timer], shuffle=True)
    return timer.seconds


def child(mode: str, workload: str, args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(args.threads)
    data = dataset(workload, args)
    x, y = (t.numpy() for t in data.train.tensors)
    batch = 128 if workload == "cnn" else 32
    if mode == "torch":
        seconds = run_torch(workload, x, y, batch, args.epochs)
    elif mode == "deepscope":
        seconds = run_deepscope(workload, data, batch, args.epochs)
    else:
        seconds = run_keras(workload, x, y, batch, args.epochs)
    rates = [len(x) / s for s in seconds[1:]]  # the first epoch is warm-up
    print(json.dumps({"mode": mode, "workload": workload, "samples_per_s": statistics.mean(rates)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", default="../shared/data/mnist")
    parser.add_argument("--imdb", default="/tmp/data/data/aclImdb")
    parser.add_argument("--cnn-samples", type=int, default=12_800)
    parser.add_argument("--lstm-samples", type=int, default=6_400)
    parser.add_argument("--epochs", type=int, default=3, help="per process; the first is warm-up")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--workloads", default="cnn,lstm")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--child", nargs=2, metavar=("MODE", "WORKLOAD"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child, args)
        return
    modes = args.modes.split(",")
    results: dict[tuple[str, str], list[float]] = {}
    for workload in args.workloads.split(","):
        for round_ in range(args.rounds):
            for mode in modes if round_ % 2 == 0 else modes[::-1]:
                env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
                if mode.startswith("keras-"):
                    env["KERAS_BACKEND"] = mode.removeprefix("keras-")
                command = [sys.executable, __file__, *sys.argv[1:], "--child", mode, workload]
                done = subprocess.run(command, env=env, capture_output=True, text=True)
                if done.returncode != 0:
                    print(f"{workload} {mode}: failed\n{done.stderr[-2000:]}", flush=True)
                    continue
                rate = json.loads(done.stdout.strip().splitlines()[-1])["samples_per_s"]
                results.setdefault((workload, mode), []).append(rate)
                print(f"round {round_}: {workload:<4} {mode:<12} {rate:8.0f} samples/s", flush=True)
    print(f"\nsamples/s, mean of {args.rounds} rounds ({args.threads} threads; first epoch excluded)")
    for workload in args.workloads.split(","):
        rates = {m: statistics.mean(results[(workload, m)]) for m in modes if (workload, m) in results}
        line = "  ".join(f"{m} {r:,.0f}" for m, r in rates.items())
        keras_best = max((r for m, r in rates.items() if m.startswith("keras-")), default=None)
        ratio = f"; deepscope / faster Keras = {rates['deepscope'] / keras_best:.2f}x" if keras_best else ""
        torch_ratio = (
            f"; deepscope / plain torch = {rates['deepscope'] / rates['torch']:.2f}x" if "torch" in rates else ""
        )
        print(f"{workload}: {line}{ratio}{torch_ratio}")


if __name__ == "__main__":
    main()
