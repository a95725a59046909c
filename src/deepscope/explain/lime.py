"""LIME (Ribeiro et al. 2016) for images, series and text, batched and seeded end to end.

Written here rather than taken from the ``lime`` package or Captum's ``Lime``: both build
the perturbed inputs one at a time in Python and send them to the model in small batches
(``lime``: 10), and ``lime`` draws from global random state. Here one seeded numpy generator
draws every on/off pattern, the perturbed inputs of a whole chunk are built with one
``torch.where`` over the feature mask, and the model sees ``batch_size`` of them at a time.
The surrogate is the ``lime`` package's: a ridge regression (alpha 1) on the on/off patterns,
weighted by the exponential kernel (width 0.25) of the cosine distance to the original.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

__all__ = ["lime_weights"]


def lime_weights(
    predict: Callable[[torch.Tensor], torch.Tensor],
    sample: torch.Tensor,
    mask: torch.Tensor,
    fill: torch.Tensor,
    target: int,
    *,
    n_samples: int = 1000,
    batch_size: int = 256,
    seed: int = 0,
    kernel_width: float = 0.25,
) -> tuple[torch.Tensor, float]:
    """Per-feature LIME weights for one ``sample`` -> (values shaped like ``sample``, the
    surrogate's R^2 on its weighted samples).

    ``predict`` maps a batch (B, *sample.shape) to probabilities (B, K); ``mask`` gives each
    element's feature id (-1: never switched off); ``fill`` is what switched-off elements become.
    """
    from sklearn.linear_model import Ridge

    n_features = int(mask.max()) + 1
    rng = np.random.default_rng(seed)
    patterns = rng.integers(0, 2, size=(n_samples, n_features), dtype=np.int8)
    patterns[0] = 1  # the original input is always among the samples, as in lime
    z = torch.from_numpy(patterns).to(torch.bool)
    keep_always = mask < 0
    ids = mask.clamp_min(0)
    scores = []
    for start in range(0, n_samples, batch_size):
        on = z[start : start + batch_size][:, ids] | keep_always  # (B, *sample.shape)
        batch = torch.where(on, sample.unsqueeze(0), fill.unsqueeze(0))
        scores.append(predict(batch)[:, target].double())
    y = torch.cat(scores).numpy()
    on_count = patterns.sum(1)
    cosine = on_count / np.sqrt(np.maximum(on_count, 1) * n_features)  # cosine similarity to all-ones
    distance = 1.0 - cosine
    weights = np.sqrt(np.exp(-(distance**2) / kernel_width**2))
    surrogate = Ridge(alpha=1.0).fit(patterns, y, sample_weight=weights)
    r2 = float(surrogate.score(patterns, y, sample_weight=weights))
    coef = torch.from_numpy(surrogate.coef_).to(torch.float32)
    values = torch.where(keep_always, torch.zeros(()), coef[ids])
    return values, r2
