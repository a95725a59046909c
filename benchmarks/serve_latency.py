"""How fast the explorer answers: one MNIST input -> prediction + Grad-CAM, over real HTTP.

Starts ``deepscope serve`` (uvicorn on 127.0.0.1, a free port) on an MNIST run, then times
``POST /api/runs/0/predict`` end to end from an HTTP client, for a test example and for a
28x28 PNG drawing (the canvas path: base64 data URL -> decode -> model -> figures -> JSON),
with ``methods: ["gradcam"]`` (prediction, probabilities, feature maps and the Grad-CAM
figure). Target: <= 300 ms per request on a 2-core CPU.

    python benchmarks/serve_latency.py --run runs/mnist_cnn-...        # an existing MNIST run
    python benchmarks/serve_latency.py                                 # trains mnist_cnn for 1 epoch first

Each figure is the median (and the slowest) of ``--repeats`` requests after two warm-ups.
Nothing else should run on the machine meanwhile.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
MNIST = Path(os.environ.get("DEEPSCOPE_MNIST", ROOT.parent / "shared" / "data" / "mnist"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def drawing_png(run) -> str:
    """A test digit as the canvas would send it: a PNG data URL."""
    from PIL import Image

    image = run.data.test.tensors[0][0, 0]  # (28, 28) in [0, 1]
    buffer = io.BytesIO()
    Image.fromarray((image * 255).round().to(torch.uint8).numpy(), mode="L").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", help="an MNIST run folder (default: train mnist_cnn for 1 epoch)")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    import httpx
    import uvicorn

    from deepscope import runs
    from deepscope.serve.app import create_app

    with tempfile.TemporaryDirectory() as runs_dir:
        path = args.run or runs.train("mnist_cnn", f"mnist:{MNIST}", runs_dir=runs_dir, epochs=1, progress=False).path
        run = runs.open_run(path)
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_app([path]), host="127.0.0.1", port=port, log_level="error"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port}/api/runs/0/predict"
        payloads = {"a test example": {"example": 0}, "a 28x28 PNG drawing": {"image": drawing_png(run)}}
        print(f"explorer on {run.name} ({run.model.__class__.__name__}), torch threads {args.threads}")
        try:
            with httpx.Client(timeout=30) as client:
                for name, payload in payloads.items():
                    body = {**payload, "methods": ["gradcam"]}
                    times = []
                    for i in range(args.repeats + 2):
                        start = time.perf_counter()
                        response = client.post(url, json=body)
                        elapsed = time.perf_counter() - start
                        response.raise_for_status()
                        if i >= 2:  # two warm-ups
                            times.append(elapsed)
                    answer = response.json()
                    print(
                        f"prediction + Grad-CAM for {name:<20} median {1000 * statistics.median(times):6.1f} ms, "
                        f"slowest {1000 * max(times):6.1f} ms over {len(times)} requests "
                        f"(server-side {1000 * answer['seconds']:.1f} ms; predicted {answer['predicted']}; "
                        f"target <= 300 ms)"
                    )
        finally:
            server.should_exit = True
            thread.join(timeout=10)


if __name__ == "__main__":
    main()
