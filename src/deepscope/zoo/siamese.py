"""Siamese networks for metric learning: Keras' mnist_siamese."""

from __future__ import annotations

import torch
from torch import nn

from deepscope.errors import invalid
from deepscope.recipe import Recipe
from deepscope.zoo.registry import register

__all__ = ["Siamese", "mnist_siamese"]


class Siamese(nn.Module):
    """One ``tower`` embeds both images of each pair (shared weights); the output is the
    Euclidean distance between the two embeddings, (N,). Input: pairs (N, 2, C, H, W)."""

    def __init__(self, tower: nn.Module) -> None:
        super().__init__()
        self.tower = tower

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Embeddings (N, D) of single images (N, C, H, W)."""
        return self.tower(x)

    def forward(self, pairs: torch.Tensor) -> torch.Tensor:
        n = pairs.shape[0]
        z = self.tower(pairs.flatten(0, 1)).view(n, 2, -1)  # both images through one tower: (N, 2, D)
        squared = (z[:, 0] - z[:, 1]).pow(2).sum(dim=1)
        return squared.clamp_min(1e-7).sqrt()  # (N,); Keras' eps keeps the gradient finite at d = 0


@register(
    "mnist_siamese",
    kind="image",
    task="pairs",
    reference="Keras mnist_siamese.py: 97.2% verification accuracy on MNIST test pairs after 20 epochs",
    recipe=Recipe(epochs=20, batch_size=128, optimizer="rmsprop", lr=1e-3, monitor="val_accuracy", augment="none"),
    example_shape=(2, 1, 28, 28),
    example_classes=2,
)
def mnist_siamese(in_shape: tuple[int, ...], num_classes: int, embedding: int = 128, dropout: float = 0.1) -> Siamese:
    """Keras' siamese MLP: a shared dense 128-128-128 tower (dropout 0.1), Euclidean distance."""
    if len(in_shape) != 4 or in_shape[0] != 2:
        raise invalid("in_shape", "(2, C, H, W): pairs of images (load the data as pairs:SPEC)", in_shape)
    size = in_shape[1] * in_shape[2] * in_shape[3]
    tower = nn.Sequential(
        nn.Flatten(),
        nn.Linear(size, 128),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(128, 128),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(128, embedding),
        nn.ReLU(),  # (N, embedding): Keras' base network ends in a ReLU too
    )
    return Siamese(tower)
