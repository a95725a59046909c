"""Sample quality: Fréchet distance against its closed form, the judge's features, the
classifier score of a "GAN" that returns real images, and the per-epoch grid files."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from deepscope.errors import InvalidArgumentError
from deepscope.train.quality import (
    classifier_score,
    frechet_distance,
    judge_features,
    read_sample_grid,
    sample_grid,
    sample_quality,
)


def _whitened(n: int, d: int, seed: int) -> torch.Tensor:
    """n samples (n, d) whose sample mean is exactly 0 and sample covariance exactly I."""
    x = torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    x = x - x.mean(0)
    cov = x.T @ x / (n - 1)
    return x @ torch.linalg.inv(torch.linalg.cholesky(cov)).T


def test_frechet_distance_of_a_set_with_itself_is_zero():
    features = torch.randn(500, 16, generator=torch.Generator().manual_seed(0))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(features, features + 0.1) == pytest.approx(16 * 0.01, rel=1e-6)  # a shift: |mu|^2


def test_frechet_distance_of_two_gaussians_matches_the_closed_form():
    # N(0, I) against N(m, s^2 I) in d dimensions: |m|^2 + d (1 - s)^2.
    d, s = 8, 2.5
    m = torch.linspace(-1, 1, d, dtype=torch.float64)
    real, fake = _whitened(400, d, 0), _whitened(300, d, 1) * s + m
    expected = float(m.pow(2).sum()) + d * (1 - s) ** 2
    assert frechet_distance(real, fake) == pytest.approx(expected, rel=1e-6)


def test_frechet_distance_refuses_mismatched_features():
    with pytest.raises(InvalidArgumentError, match=r"`fake_features` must be \(M, 4\) like real_features"):
        frechet_distance(torch.zeros(5, 4), torch.zeros(5, 3))
    with pytest.raises(InvalidArgumentError, match="N >= 2"):
        frechet_distance(torch.zeros(1, 4), torch.zeros(5, 4))


def _judge() -> nn.Sequential:
    """A fixed linear judge of 2x2 one-channel images: features relu(W1 x), then 3 class logits."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(4, 5), nn.ReLU(), nn.Dropout(0.5), nn.Linear(5, 3))


def test_judge_features_are_the_input_of_the_classification_layer():
    judge = _judge().train()
    x = torch.rand(7, 1, 2, 2)
    features = judge_features(judge, x, batch_size=3)
    assert torch.allclose(features, torch.relu(judge[1](x.flatten(1))), atol=1e-6)  # dropout off: eval mode
    assert judge.training  # the mode is restored


class _RealImagesGAN(nn.Module):
    """A stand-in conditional GAN whose samples of class k are real images of class k, in order."""

    task, conditional, num_classes = "generation", True, 3

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        super().__init__()
        self.pools = [images[labels == k] for k in range(3)]
        self.taken = [0, 0, 0]

    def generate(self, n, labels=None, generator=None):
        out = []
        for k in labels.tolist():
            out.append(self.pools[k][self.taken[k] % len(self.pools[k])])
            self.taken[k] += 1
        return torch.stack(out)


def test_classifier_score_of_real_images_is_the_judges_accuracy_on_them():
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(60) % 3
    images = (labels.view(-1, 1, 1, 1) / 3 + 0.4 * torch.rand(60, 1, 2, 2, generator=g)).clamp(0, 1)
    judge = _judge()
    with torch.no_grad():
        accuracy = float((judge.eval()(images).argmax(1) == labels).float().mean())
    assert 0.2 < accuracy < 0.9  # an imperfect judge, so the test can tell the scores apart
    score = classifier_score(_RealImagesGAN(images, labels), judge, n_per_class=20, batch_size=7)
    assert score == pytest.approx(accuracy)  # 20 per class: exactly the 60 images, each judged once


def test_sample_quality_scores_balanced_samples_and_the_grid_has_a_row_per_class():
    labels = torch.arange(30) % 3
    images = labels.view(-1, 1, 1, 1).float().expand(30, 1, 2, 2) / 2
    judge, gan = _judge(), _RealImagesGAN(images, labels)
    scores = sample_quality(gan, judge, judge_features(judge, images), batch_size=4)
    assert set(scores) == {"frechet", "classifier_score"}
    assert scores["frechet"] == pytest.approx(0.0, abs=1e-6)  # the same 30 images, in another order
    grid, grid_labels, columns = sample_grid(gan, per_class=4)
    assert grid.shape == (12, 1, 2, 2) and columns == 4 and grid_labels.tolist() == [0] * 4 + [1] * 4 + [2] * 4


def test_classifier_score_refuses_an_unconditional_gan_and_a_judge_of_other_classes():
    gan = _RealImagesGAN(torch.rand(6, 1, 2, 2), torch.arange(6) % 3)
    gan.conditional = False
    with pytest.raises(InvalidArgumentError, match="needs a class-conditional GAN"):
        classifier_score(gan, _judge())
    gan.conditional = True
    other = nn.Sequential(nn.Flatten(), nn.Linear(4, 7))
    with pytest.raises(InvalidArgumentError, match="must classify the GAN's 3 classes. Received: a judge with 7"):
        classifier_score(gan, other, n_per_class=2)
    with pytest.raises(InvalidArgumentError, match="`judge` must be a classifier with a head"):
        judge_features(nn.Identity(), torch.rand(2, 1, 2, 2))


def test_saved_grids_read_back_as_images_in_the_unit_range(tmp_path):
    from deepscope.train.files import save_tensors

    images = torch.tensor([0, 128, 255], dtype=torch.uint8).view(3, 1, 1, 1)
    save_tensors(tmp_path / "g.safetensors", {"images": images}, {"epoch": "2", "columns": "3"})
    read, labels, meta = read_sample_grid(tmp_path / "g.safetensors")
    assert labels is None and meta["epoch"] == "2"
    assert read.flatten().tolist() == pytest.approx([0.0, 128 / 255, 1.0]) and math.isclose(float(read.max()), 1.0)
