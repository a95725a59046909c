"""Speed of the explanations, against the ``lime`` package measured in the same run.

    python benchmarks/explain_speed.py                 # needs `pip install lime` for the comparison
    python benchmarks/explain_speed.py --repeats 5 --threads 2

Rows:
- LIME on one 28x28 MNIST-shaped image, 1,000 samples, mnist_cnn (target: <= 1 s);
- LIME on one 224x224 photo (scikit-image's astronaut), 1,000 samples, torchvision's ResNet-18
  (random weights: speed does not depend on them), the same quickshift superpixels given to
  both: deepscope against ``lime.lime_image.LimeImageExplainer`` at its default batch size
  (10) and at 256 (target: >= 5x faster than lime's default), and the floor under both: the
  same 1,000 forward passes with nothing else;
- Grad-CAM and saliency for a batch of 64 MNIST-shaped images, mnist_cnn (target: <= 1 s).
Each figure is the median of ``--repeats`` runs after one warm-up. Nothing else should run on
the machine meanwhile.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch


def median_time(call, repeats: int, warm_up=None) -> float:
    (warm_up or call)()  # warm-up: the call itself, or a shorter one for the slow rows
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--lime-batches", default="10,256", help="the lime package's batch sizes to time")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from skimage import data as skdata
    from skimage.transform import resize
    from torchvision.models import resnet18

    from deepscope import zoo
    from deepscope.explain import explain, superpixels

    mnist_cnn = zoo.create("mnist_cnn", in_shape=(1, 28, 28), num_classes=10, seed=0).eval()
    digits = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    rows = []
    t = median_time(lambda: explain(mnist_cnn, digits[:1], method="lime", n_samples=1000), args.repeats)
    rows.append(("LIME, 28x28, 1,000 samples (mnist_cnn)", t, "<= 1 s"))
    for method in ("gradcam", "saliency"):
        t = median_time(lambda m=method: explain(mnist_cnn, digits, method=m), args.repeats)
        rows.append((f"{method}, batch of 64 28x28 (mnist_cnn)", t, "<= 1 s"))

    photo = resize(skdata.astronaut(), (224, 224), anti_aliasing=True).astype(np.float32)  # (224, 224, 3) in [0, 1]
    x = torch.from_numpy(photo).permute(2, 0, 1)  # (3, 224, 224)
    net = resnet18(weights=None, num_classes=1000).eval()
    torch.manual_seed(0)
    segments = superpixels(x, segmentation="quickshift")  # (224, 224), shared by both implementations
    target = int(net(x[None]).argmax())

    def probs(batch: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return torch.softmax(net(batch), dim=1)

    ours = median_time(
        lambda: explain(net, x[None], target=target, method="lime", n_samples=1000, features=segments),
        args.repeats,
        warm_up=lambda: explain(net, x[None], target=target, method="lime", n_samples=20, features=segments),
    )
    rows.append((f"LIME, 224x224, 1,000 samples, {int(segments.max()) + 1} superpixels: deepscope", ours, ""))
    start = time.perf_counter()
    with torch.inference_mode():
        for _ in range(0, 1000, 10):  # the floor: the same 1,000 forward passes and nothing else
            net(x[None].expand(10, -1, -1, -1).contiguous(memory_format=torch.channels_last))
    floor = time.perf_counter() - start
    rows.append(("  of which at least: 1,000 ResNet-18 forward passes alone", floor, f"{floor / ours:.0%} of ours"))
    for name, seconds, note in rows:  # printed as they come: the lime rows below take longest
        print(f"{name:<72} {seconds:8.3f} s  {note}", flush=True)
    try:
        from lime.lime_image import LimeImageExplainer
    except ImportError:
        print("lime is not installed: `pip install lime` for the comparison rows")
        theirs = {}
    else:

        def classifier(images: np.ndarray) -> np.ndarray:  # lime passes (N, H, W, 3) arrays
            return probs(torch.from_numpy(images).permute(0, 3, 1, 2).float()).numpy()

        theirs = {}
        for batch in (int(b) for b in args.lime_batches.split(",")):
            explainer = LimeImageExplainer(random_state=0)
            theirs[batch] = median_time(
                lambda b=batch, explainer=explainer: explainer.explain_instance(
                    photo.astype(np.float64),
                    classifier,
                    labels=(target,),
                    top_labels=None,
                    hide_color=None,
                    num_samples=1000,
                    batch_size=b,
                    segmentation_fn=lambda image: segments.numpy(),
                ),
                args.repeats,
            )
            rows.append((f"  the lime package, batch size {batch}", theirs[batch], f"{theirs[batch] / ours:.1f}x ours"))

    print(f"torch threads: {args.threads}; median of {args.repeats} runs after a warm-up")
    for name, seconds, note in rows[3:]:
        print(f"{name:<72} {seconds:8.3f} s  {note}")
    if 10 in theirs:
        print(f"\ndeepscope LIME is {theirs[10] / ours:.1f}x faster than lime's default (target >= 5x)")


if __name__ == "__main__":
    main()
