"""Small seeded CNNs and images for the inspect tests (no training needed)."""

from __future__ import annotations

import pytest
import torch
from torch import nn


class Custom(nn.Module):
    """A user-defined (non-Sequential) CNN with nested names, for (3, 10, 10) inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 5, 3), nn.ReLU(), nn.Conv2d(5, 7, 3, padding=1, dilation=2))
        self.head = nn.Linear(7, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (N, 7, 6, 6)
        return self.head(x.mean(dim=(2, 3)))


@pytest.fixture
def tiny_cnn() -> nn.Sequential:
    """conv3x3 (pad 1) -> ReLU(inplace) -> maxpool 2 -> conv3x3 stride 2 -> ReLU -> dense, for (1, 12, 12)."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(inplace=True),  # (N, 4, 12, 12)
        nn.MaxPool2d(2),  # (N, 4, 6, 6)
        nn.Conv2d(4, 6, 3, stride=2),
        nn.ReLU(),  # (N, 6, 2, 2)
        nn.Flatten(),
        nn.Linear(24, 3),
    ).eval()


@pytest.fixture
def custom_cnn() -> Custom:
    torch.manual_seed(1)
    return Custom().eval()


def _make_images(n: int = 40, shape: tuple[int, ...] = (1, 12, 12), seed: int = 0) -> torch.Tensor:
    """Random images in [0, 1] (N, C, H, W)."""
    return torch.rand((n, *shape), generator=torch.Generator().manual_seed(seed))


@pytest.fixture
def make_images():
    return _make_images


@pytest.fixture
def images() -> torch.Tensor:
    return _make_images()
