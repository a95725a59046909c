"""On real MNIST: the top patches of a trained mnist_cnn's first-layer channels are strokes
(edges of one orientation and polarity), not arbitrary bits of digits (slow: trains 1 epoch)."""

from __future__ import annotations

import numpy as np
import pytest

from deepscope import data as data_module
from deepscope import runs, zoo
from deepscope.inspect import top_patches
from deepscope.mechanics import KERNELS

DIAGONAL = np.array([[2, 1, 0], [1, 0, -1], [0, -1, -2]], dtype=float)  # sobel turned by 45 degrees


def oriented_kernels() -> np.ndarray:
    """Zero-mean, unit-norm oriented edge kernels (6, 3, 3)."""
    kernels = [np.asarray(KERNELS[n], float) for n in ("edge-h", "edge-v", "sobel-x", "sobel-y")]
    kernels += [DIAGONAL, np.fliplr(DIAGONAL)]
    k = np.stack([k - k.mean() for k in kernels])
    return k / np.linalg.norm(k.reshape(len(k), -1), axis=1)[:, None, None]


def consistency(groups: np.ndarray) -> np.ndarray:
    """For groups of 3x3 patches (G, n, 3, 3): the best |mean normalised correlation| with one
    oriented kernel (G,): 1 = every patch is the same oriented edge with the same polarity."""
    centred = groups - groups.mean(axis=(-2, -1), keepdims=True)
    norm = np.linalg.norm(centred.reshape(*centred.shape[:-2], -1), axis=-1)[..., None] + 1e-12
    corr = np.einsum("gnij,kij->gnk", centred, oriented_kernels()) / norm  # (G, n, 6) signed
    return np.abs(corr.mean(axis=1)).max(axis=-1)


@pytest.mark.slow
def test_first_layer_top_patches_of_mnist_cnn_are_oriented_strokes(mnist_dir, tmp_path):
    mnist = data_module.load(f"mnist:{mnist_dir}")
    model = zoo.create("mnist_cnn", data=mnist, seed=0)
    run = runs.fit(model, mnist, epochs=1, out=tmp_path / "run", progress=False)
    result = top_patches(run.model, "0", mnist.test.tensors[0], k=9)
    assert result.patches.shape == (32, 9, 1, 3, 3)
    channels = consistency(result.patches[:, :, 0])  # (32,)

    x = mnist.test.tensors[0][:500, 0].unfold(1, 3, 1).unfold(2, 3, 1).reshape(-1, 3, 3).numpy()
    x = x[x.std(axis=(1, 2)) > 0.2]  # structured (non-blank) patches of real digits
    rng = np.random.default_rng(0)
    chance = consistency(x[rng.choice(len(x), size=(200, 9))])  # random groups of 9
    assert np.median(chance) < 0.4
    assert channels.max() >= 0.75 > chance.max()
    assert (channels >= 0.7).sum() >= 5
