"""Image folders larger than memory: peak memory and epoch time, streamed vs in memory.

Writes a folder of random-texture JPEGs (``--images`` of ``--size`` x ``--size`` RGB, two
classes; a bright left half marks class 1), then trains the same small CNN on it, each mode in
its own process:

- ``memory``   the in-memory path (everything decoded into one float32 tensor first);
- ``stream``   decoded on demand, batch by batch (``images:PATH?stream=yes``);
- ``cache``    streamed through the uint8 memory-mapped cache (epoch 1 fills it, epoch 2 reads it).

Each process runs in a memory cgroup of ``--limit`` (cgroup v1 ``memory`` controller: needs root;
without it the limit is not enforced and the table says so). The page cache of the files counts
against a cgroup too, and is reclaimed under the limit. Reported per mode: the seconds of each
epoch, the peak resident memory of the process and of its children -- DataLoader workers, if
the machine has cores to spare for them (``ru_maxrss``),
and the cgroup's peak usage. ``--subset N`` runs the in-memory comparison on the first N
images of each class (data that fits), the streamed ones on the same subset and on the whole
folder. Run it on an idle machine: the seconds are wall-clock.

    python benchmarks/streaming.py --images 40000 --size 96 --limit 1.5G --subset 3000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup/memory")


def write_folder(root: Path, n: int, size: int) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for label in (0, 1):
        (root / f"class{label}").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        label = i % 2
        path = root / f"class{label}" / f"{i:06d}.jpg"
        if path.exists():
            continue
        coarse = rng.integers(0, 200, (size // 8, size // 8, 3), dtype=np.uint8)
        pixels = np.kron(coarse, np.ones((8, 8, 1), np.uint8))  # blocky texture: JPEG keeps it
        if label:
            pixels[:, : size // 2] = np.minimum(pixels[:, : size // 2].astype(int) + 80, 255)
        Image.fromarray(pixels).save(path, quality=90)


def subset_folder(root: Path, out: Path, per_class: int) -> Path:
    """The first ``per_class`` images of each class, as symbolic links."""
    for class_dir in sorted(root.iterdir()):
        (out / class_dir.name).mkdir(parents=True, exist_ok=True)
        for path in sorted(class_dir.iterdir())[:per_class]:
            link = out / class_dir.name / path.name
            if not link.exists():
                link.symlink_to(path)
    return out


def train(mode: str, folder: str, epochs: int, home: str) -> dict:
    """One mode in this process: returns epoch seconds, accuracy and peak memory."""
    os.environ["DEEPSCOPE_HOME"] = home
    import torch
    from torch import nn

    from deepscope.data import load
    from deepscope.train import fit

    torch.set_num_threads(2)
    spec = {"memory": f"images:{folder}?stream=no", "stream": f"images:{folder}?stream=yes"}.get(
        mode, f"images:{folder}?cache=yes"
    )
    started = time.perf_counter()
    data = load(spec)
    load_seconds = time.perf_counter() - started
    torch.manual_seed(0)
    channels = data.input_shape[0]
    model = nn.Sequential(
        nn.Conv2d(channels, 16, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(4),
        nn.Flatten(),
        nn.Linear(32 * 16, 2),
    )
    with tempfile.TemporaryDirectory() as out:
        run = fit(model, data, out=Path(out) / "run", epochs=epochs, batch_size=128, lr=3e-3, progress=False)
        accuracy = run.evaluate("val").accuracy
        seconds = [row["time"] for row in run.history]
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # DataLoader workers, if any
    return {
        "mode": mode,
        "images": len(data.train) + len(data.val) + len(data.test),
        "load_s": load_seconds,
        "epoch_s": seconds,
        "val_accuracy": accuracy,
        "peak_rss": own,
        "peak_child_rss": children,
    }


def run_limited(args: argparse.Namespace, mode: str, folder: Path, home: str) -> dict:
    """``mode`` in a child process inside a fresh memory cgroup of ``args.limit``."""
    command = [sys.executable, __file__, "--child", mode, str(folder), str(args.epochs), home]
    group = CGROUP / f"deepscope-bench-{os.getpid()}-{mode}"
    limited = False
    try:
        group.mkdir()
        (group / "memory.limit_in_bytes").write_text(str(parse_size(args.limit)))
        limited = True
    except OSError:
        group = None
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    if group is not None:
        (group / "cgroup.procs").write_text(str(process.pid))
    out, _ = process.communicate()
    result = {"mode": mode, "failed": f"exit code {process.returncode}"}
    if process.returncode == 0:
        result = json.loads(out.strip().splitlines()[-1])
    if group is not None:
        result["cgroup_peak"] = int((group / "memory.max_usage_in_bytes").read_text())
        result["limit_hits"] = (group / "memory.failcnt").read_text().strip()
        group.rmdir()
    result["limited"] = limited
    return result


def parse_size(text: str) -> int:
    units = {"K": 2**10, "M": 2**20, "G": 2**30}
    return int(float(text[:-1]) * units[text[-1].upper()]) if text[-1].upper() in units else int(text)


def gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        mode, folder, epochs, home = sys.argv[2:6]
        print(json.dumps(train(mode, folder, int(epochs), home)))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=40_000)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--limit", default="1.5G", help="the memory cgroup limit of each mode's process")
    parser.add_argument("--subset", type=int, default=3000, help="images per class for the in-memory comparison")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--folder", default="/tmp/deepscope-streaming-bench")
    parser.add_argument("--only", help="run these data sets only: subset, all (default: both)")
    args = parser.parse_args()
    root = Path(args.folder)
    write_folder(root / "all", args.images, args.size)
    small = subset_folder(root / "all", root / "subset", args.subset)
    whole = 2 * ((args.images + 1) // 2) * 3 * args.size**2 * 4
    print(f"{args.images:,} JPEGs of {args.size}x{args.size} RGB: {gib(whole)} as float32; cgroup limit {args.limit}")
    rows = []
    with tempfile.TemporaryDirectory() as home:
        for mode, folder in (
            ("memory", small),
            ("stream", small),
            ("cache", small),
            ("stream", root / "all"),
            ("cache", root / "all"),
            ("memory", root / "all"),
        ):
            if args.only and folder.name not in args.only.split(","):
                continue
            result = run_limited(args, mode, folder, home)
            result["folder"] = folder.name
            rows.append(result)
            print(json.dumps(result), flush=True)
    print(
        f"\n{'data':<7} {'mode':<7} {'images':>7} {'load s':>7} {'epoch s':>16} {'val acc':>8} {'peak RSS':>10} {'children':>10} "
        f"{'cgroup peak':>12}"
    )
    base = {}
    for r in rows:
        if "failed" in r:
            print(
                f"{r['folder']:<7} {r['mode']:<7} failed ({r['failed']}; the limit was hit {r.get('limit_hits')} times)"
            )
            continue
        epochs = " / ".join(f"{s:.1f}" for s in r["epoch_s"])
        if r["mode"] == "memory":
            base[r["folder"]] = r["epoch_s"][-1]
        ratio = f" ({r['epoch_s'][-1] / base[r['folder']]:.2f}x)" if r["folder"] in base else ""
        print(
            f"{r['folder']:<7} {r['mode']:<7} {r['images']:>7,} {r['load_s']:>7.1f} {epochs:>16}{ratio} "
            f"{r['val_accuracy']:>8.4f} {gib(r['peak_rss']):>10} {gib(r['peak_child_rss']):>10} "
            f"{gib(r.get('cgroup_peak', 0)):>12}"
        )
    if not rows[0]["limited"]:
        print("(no memory cgroup could be made: the limit was not enforced)")


if __name__ == "__main__":
    main()
