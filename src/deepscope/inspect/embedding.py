"""A 2-D map of what a layer computes: PCA then t-SNE (scikit-learn) of its features."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from deepscope.errors import invalid
from deepscope.inspect.inputs import check_inputs, model_device
from deepscope.inspect.layers import get_layer, reading

__all__ = ["Embedding", "embedding_map", "penultimate_layer"]

_PASS_THROUGH = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.AlphaDropout, nn.Identity)


@dataclass
class Embedding:
    """2-D coordinates of ``n`` samples' features at ``layer``.

    ``coords`` (n, 2); ``labels`` (n,) or None; ``indices`` (n,) into the inputs given;
    ``inputs`` (n, *input_shape) the samples themselves (images become thumbnails);
    ``features`` is the layer's flattened feature size; ``pca_dims`` the dimensions kept
    before t-SNE."""

    layer: str
    coords: np.ndarray
    labels: np.ndarray | None
    indices: np.ndarray
    inputs: np.ndarray
    features: int
    pca_dims: int
    classes: list[str] | None = None


def penultimate_layer(model: nn.Module) -> str:
    """The name of the layer that feeds the model's last ``nn.Linear`` in definition order:
    the previous module in ``named_modules()`` order, which is the execution order of
    ``nn.Sequential`` models, skipping dropout and identity layers. Other models should name
    their layer explicitly."""
    names = [n for n, m in model.named_modules() if n and not list(m.children())]
    linear = [i for i, n in enumerate(names) if isinstance(get_layer(model, n), nn.Linear)]
    before = names[: linear[-1]] if linear else []
    while before and isinstance(get_layer(model, before[-1]), _PASS_THROUGH):
        before.pop()  # in eval mode these return their input: name the layer that computes it
    if not before:
        raise invalid("layer", "a layer name (the model has no hidden layer before a final nn.Linear)", None)
    return before[-1]


@torch.no_grad()
def embedding_map(
    model: nn.Module,
    layer: str | None,
    inputs: torch.Tensor,
    *,
    labels: torch.Tensor | None = None,
    classes: Sequence[str] | None = None,
    n: int = 1000,
    pca_dims: int = 50,
    perplexity: float = 30.0,
    batch_size: int = 256,
    seed: int = 0,
) -> Embedding:
    """t-SNE map of ``layer``'s features (None: the input of the last dense layer, see
    :func:`penultimate_layer`) for up to ``n`` of ``inputs`` (N, *input_shape), drawn at random
    with ``seed``. ``labels`` (N,) class indices colour the map (``classes`` names them).
    Features are flattened, reduced to ``pca_dims`` with PCA (which speeds t-SNE up and removes
    noise), then embedded in 2-D with t-SNE (PCA init)."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    x = check_inputs(inputs, images=False).cpu()
    if len(x) < 5:
        raise invalid("inputs", "a batch of at least 5 samples (a map needs a few points)", f"{len(x)} samples")
    if labels is not None and (not isinstance(labels, torch.Tensor) or tuple(labels.shape) != (len(x),)):
        shape = tuple(labels.shape) if isinstance(labels, torch.Tensor) else type(labels).__name__
        raise invalid("labels", f"a tensor (N,) of class indices, one per input (N={len(x)})", shape)
    if isinstance(n, bool) or not isinstance(n, int) or n < 5:
        raise invalid("n", "an int >= 5 (samples to embed)", n)
    layer = penultimate_layer(model) if layer is None else layer
    get_layer(model, layer)
    rng = np.random.default_rng(seed)
    indices = np.sort(rng.choice(len(x), size=min(n, len(x)), replace=False))
    chosen = x[torch.from_numpy(indices)]  # (n, *input_shape)
    device = model_device(model)
    was_training = model.training
    model.eval()
    try:
        with reading(model, [layer]) as read:
            features = torch.cat(
                [
                    read(chosen[i : i + batch_size].to(device))[layer].flatten(1).float().cpu()
                    for i in range(0, len(chosen), batch_size)
                ]
            ).numpy()  # (n, F)
    finally:
        model.train(was_training)
    dims = min(pca_dims, *features.shape)
    reduced = (
        PCA(n_components=dims, random_state=seed).fit_transform(features) if dims < features.shape[1] else features
    )
    perplexity = min(perplexity, (len(indices) - 1) / 3)
    # One OpenMP thread: on a busy 2-core machine t-SNE's threads spin against each other
    # (300 points: 43 s with the default threads, 1.7 s with one, measured here).
    with threadpool_limits(limits=1, user_api="openmp"):
        coords = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(reduced)
    return Embedding(
        layer=layer,
        coords=coords.astype(np.float32),
        labels=None if labels is None else labels.cpu()[torch.from_numpy(indices)].numpy(),
        indices=indices,
        inputs=chosen.float().numpy(),
        features=int(features.shape[1]),
        pca_dims=int(dims),
        classes=list(classes) if classes else None,
    )
