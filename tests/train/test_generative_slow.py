"""The issue-12 figures of the autoencoders and the siamese net on real MNIST, with each
entry's default recipe (slow: minutes each)."""

from __future__ import annotations

import pytest

from deepscope import runs


@pytest.mark.slow
def test_mnist_siamese_reaches_keras_verification_accuracy(mnist_dir, tmp_path):
    """Keras' mnist_siamese: 97.2% on the test pairs after 20 epochs."""
    run = runs.train("mnist_siamese", f"pairs:mnist:{mnist_dir}", runs_dir=tmp_path, progress=False)
    assert run.evaluate("test").scores["accuracy"] >= 0.972


@pytest.mark.slow
def test_denoising_autoencoder_gains_six_db(mnist_dir, tmp_path):
    run = runs.train("mnist_denoising_autoencoder", f"mnist:{mnist_dir}", runs_dir=tmp_path, progress=False)
    assert run.evaluate("test").scores["psnr_gain"] >= 6.0


@pytest.mark.slow
def test_vae_elbo_and_smooth_manifold(mnist_dir, tmp_path):
    run = runs.train("variational_autoencoder", f"mnist:{mnist_dir}", runs_dir=tmp_path, progress=False)
    evaluation = run.evaluate("test")
    assert evaluation.scores["elbo"] > -160  # nats per image with a 2-number code
    manifold = next(p for p in evaluation.panels if p.name == "latent_manifold").data  # (225, 1, 28, 28)
    neighbours = abs(manifold[1:] - manifold[:-1]).mean()  # a smooth manifold: neighbours differ little ...
    far = abs(manifold - manifold[::-1]).mean()  # ... opposite corners of the plane a lot more
    assert neighbours < 0.5 * far


@pytest.mark.slow
def test_swwae_reconstructs_from_one_by_one_codes(mnist_dir, tmp_path):
    run = runs.train("mnist_swwae", f"mnist:{mnist_dir}", runs_dir=tmp_path, progress=False)
    assert run.evaluate("test").scores["psnr"] >= 20.0
