"""Gated PixelCNN (van den Oord et al. 2016, "Conditional Image Generation with PixelCNN
Decoders"): an autoregressive density model of binary images.

The model writes an image's probability as a product over its pixels in raster order,
p(x) = prod_ij p(x_ij | the pixels before (i, j)), and outputs, at every pixel, the logit of
that pixel being 1 given the pixels before it -- all H*W conditionals in one forward pass,
because its layers (:mod:`deepscope.nn.masked`) never let a pixel see itself or a later one.
Training maximises the likelihood of the training images (task ``density``: nats per image);
sampling draws the pixels one at a time, each from the model's prediction given those drawn so
far (H*W forward passes).
"""

from __future__ import annotations

import torch
from torch import nn

from deepscope.errors import invalid
from deepscope.nn.masked import GatedLayer
from deepscope.recipe import Recipe
from deepscope.zoo.checks import bounded_int, image_shape
from deepscope.zoo.registry import register

__all__ = ["PixelCNN", "pixelcnn"]


class PixelCNN(nn.Module):
    """Gated PixelCNN: a first gated layer with shifted ('A') convolutions of size
    ``first_kernel`` on the image, ``layers - 1`` gated layers of size ``kernel_size`` with
    ``channels`` feature maps per stack, then a head on the horizontal stack: ReLU, 1x1
    convolution to ``hidden``, ReLU, 1x1 convolution to one Bernoulli logit per channel.
    (N, C, H, W) in {0, 1} -> logits (N, C, H, W); logit (c, i, j) depends only on the pixels
    before (i, j) in raster order (every channel of them; the channels of one pixel are
    modelled independently given those)."""

    task = "density"

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        *,
        channels: int = 32,
        layers: int = 6,
        kernel_size: int = 3,
        first_kernel: int = 7,
        hidden: int = 64,
    ):
        super().__init__()
        for name, value in (("channels", channels), ("layers", layers), ("hidden", hidden)):
            bounded_int(value, name, 4096)
        image_shape(in_shape, "pixelcnn")
        self.in_shape = tuple(int(s) for s in in_shape)
        c = self.in_shape[0]
        self.stacks = nn.ModuleList(
            [GatedLayer(c, channels, first_kernel, first=True)]
            + [GatedLayer(channels, channels, kernel_size) for _ in range(layers - 1)]
        )
        self.head = nn.Sequential(
            nn.ReLU(), nn.Conv2d(channels, hidden, 1), nn.ReLU(), nn.Conv2d(hidden, c, 1)
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = h = x  # (N, C, H, W)
        for layer in self.stacks:
            v, h = layer(v, h)  # each (N, channels, H, W)
        return self.head(h)  # (N, C, H, W): the logit of each pixel given the pixels before it

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` images (n, C, H, W) of 0.0/1.0 drawn pixel by pixel in raster order, each
        pixel from the model's Bernoulli given the ones drawn before it; ``generator`` (on the
        model's device) makes the draw repeatable.

        Sampling costs H*W steps (784 for MNIST), one per pixel, against one forward pass for
        the likelihood. Each step runs only what the new pixel can change: the vertical
        stack's features of row i read the rows above it, so they are computed once per row
        (on rows 0..i), and each pixel of the row then runs the horizontal stack on that one
        row -- the same logits as a full forward pass (checked in the tests), some 30 times
        cheaper on 28x28 images than H*W full passes."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise invalid("n", "a positive int", n)
        was_training = self.training
        self.eval()
        c, height, width = self.in_shape
        x = torch.zeros(n, c, height, width, device=next(self.parameters()).device)
        try:
            for i in range(height):
                v, from_vertical = x[:, :, : i + 1], []  # the rows below i cannot change row i
                for layer in self.stacks:
                    v, contribution = layer.vertical_step(v)  # (n, p, i + 1, W), (n, 2p, i + 1, W)
                    from_vertical.append(contribution[:, :, i : i + 1])  # (n, 2p, 1, W)
                for j in range(width):
                    h = x[:, :, i : i + 1]  # (n, C, 1, W): row i, drawn up to column j - 1
                    for layer, contribution in zip(self.stacks, from_vertical):
                        h = layer.horizontal_step(h, contribution)  # (n, p, 1, W)
                    logits = self.head(h)[:, :, 0, j].float()  # (n, C)
                    x[:, :, i, j] = torch.bernoulli(torch.sigmoid(logits), generator=generator)
        finally:
            self.train(was_training)
        return x


@register(
    "pixelcnn",
    kind="image",
    task="density",
    reference=(
        "PixelCNN (van den Oord et al. 2016, Pixel RNN paper): 81.30 nats per image on binarised MNIST "
        "(train on binarized:mnist:PATH)"
    ),
    # Sized for a CPU: ~120k parameters, 3 epochs. lr 3e-3 over 1e-3 from a short comparison on the
    # validation split (seed 0, ~2.7k training images, one thread): 109 against 150 nats per image.
    # The full search: `python benchmarks/recipe_search.py pixelcnn --data binarized:mnist:PATH
    # --grid lr=1e-3,3e-3 batch_size=32,64` (minutes per point: see docs/pixelcnn.md).
    recipe=Recipe(epochs=3, batch_size=64, optimizer="adam", lr=3e-3, schedule="onecycle", monitor="val_loss"),
    example_shape=(1, 28, 28),
    example_classes=10,
)
def pixelcnn(
    in_shape: tuple[int, int, int],
    num_classes: int,
    channels: int = 32,
    layers: int = 6,
    kernel_size: int = 3,
    first_kernel: int = 7,
    hidden: int = 64,
) -> PixelCNN:
    """Gated PixelCNN for binary images: Bernoulli logits per pixel, sampled pixel by pixel."""
    return PixelCNN(
        in_shape, channels=channels, layers=layers, kernel_size=kernel_size, first_kernel=first_kernel, hidden=hidden
    )
