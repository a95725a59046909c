"""Reconstruction and density tasks: losses in nats per image, PSNR, denoising, the VAE's ELBO."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import TensorDataset

import deepscope as ds
from deepscope.data import Dataset
from deepscope.errors import DataError, InvalidArgumentError
from deepscope.train import resolve_task
from deepscope.train.reconstruction import Density, Reconstruction, bernoulli_nll, psnr
from deepscope.zoo.autoencoders import (
    ConvAutoencoder,
    DenoisingAutoencoder,
    VariationalAutoencoder,
    WhatWhereAutoencoder,
)


def _images(values: torch.Tensor) -> Dataset:
    split = TensorDataset(values, torch.arange(len(values)) % 2)
    return Dataset("toy", "image", tuple(values.shape[1:]), split, split, split, classes=["a", "b"])


def test_bernoulli_nll_is_nats_per_image():
    logits = torch.zeros(2, 1, 2, 2)  # p = 0.5 everywhere: ln 2 nats per pixel
    target = torch.tensor([0.0, 1.0]).view(2, 1, 1, 1).expand(2, 1, 2, 2)
    assert torch.allclose(bernoulli_nll(logits, target), torch.full((2,), 4 * math.log(2)))


def test_psnr_of_a_known_error():
    target = torch.zeros(1, 1, 4, 4)
    assert float(psnr(target + 0.1, target)[0]) == pytest.approx(20.0, abs=1e-4)  # 10 log10(1 / 0.01)


def test_a_model_declares_its_task_and_the_data_is_checked():
    model = ConvAutoencoder((1, 8, 8))
    task = resolve_task(model, _images(torch.rand(4, 1, 8, 8)))
    assert isinstance(task, Reconstruction) and task.corrupt is None  # a plain autoencoder: clean inputs
    assert resolve_task(DenoisingAutoencoder((1, 8, 8)), _images(torch.rand(4, 1, 8, 8))).corrupt is not None
    with pytest.raises(DataError, match=r"probabilities in \[0, 1\]"):
        resolve_task(model, _images(torch.rand(4, 1, 8, 8) * 255))
    with pytest.raises(DataError, match="binarized:"):
        Density().prepare(model, _images(torch.rand(4, 1, 8, 8)))


def test_denoising_corruption_follows_keras_and_its_generator():
    model = DenoisingAutoencoder((1, 8, 8), noise=0.5)
    x = torch.zeros(512, 1, 8, 8)
    a = model.corrupt(x, torch.Generator().manual_seed(3))
    assert torch.equal(a, model.corrupt(x, torch.Generator().manual_seed(3)))
    assert 0 <= float(a.min()) and float(a.max()) <= 1
    assert float(a.mean()) == pytest.approx(0.5, abs=0.02)  # N(0.5, 0.5) clipped to [0, 1]: symmetric about 0.5
    with pytest.raises(InvalidArgumentError, match="noise"):
        DenoisingAutoencoder((1, 8, 8), noise=0)


def test_vae_kl_is_the_closed_form_and_enters_the_loss():
    torch.manual_seed(0)
    vae = VariationalAutoencoder((1, 4, 4), latent_dim=2, hidden=8).eval().requires_grad_(False)
    x = torch.rand(3, 1, 4, 4)
    logits = vae(x)
    mean, log_var = vae.encode(x)
    var = log_var.exp()
    kl = 0.5 * (var + mean**2 - 1 - log_var).sum(1)  # KL(N(m, v) || N(0, 1)), summed over the code
    assert float(vae.added_loss.detach()) == pytest.approx(float(kl.mean()), rel=1e-5)
    task = resolve_task(vae, _images(x))
    _, loss = task.eval_step(vae, x, torch.zeros(3))
    assert float(loss) == pytest.approx(float(bernoulli_nll(logits, x).mean() + kl.mean()), rel=1e-5)


def test_swwae_unpools_to_where_the_maxima_were():
    model = WhatWhereAutoencoder((1, 28, 28), features=(2, 2))
    out = model(torch.rand(2, 1, 28, 28))
    assert out.shape == (2, 1, 28, 28)  # padded to 32 inside, cropped back
    y = torch.tensor([[[[0.0, 3.0], [1.0, 2.0]]]])
    what, where = F.max_pool2d(y, 2, return_indices=True)
    assert F.max_unpool2d(what, where, 2).flatten().tolist() == [0.0, 3.0, 0.0, 0.0]  # the value goes back to its cell


def test_autoencoder_learns_digits_and_the_report_draws_its_panels(tmp_path):
    data = ds.data.load("digits")
    model = ds.zoo.create("mnist_denoising_autoencoder", data=data, seed=0, latent_dim=8, noise=0.3)
    run = ds.fit(model, data, epochs=6, lr=3e-3, batch_size=64, out=tmp_path / "run", progress=False)
    assert run.config["task"] == "reconstruction" and run.monitor == "val_loss"
    assert run.history[-1]["val_psnr"] > run.history[0]["val_psnr"]
    evaluation = run.evaluate("test")
    assert evaluation.scores["psnr_gain"] > 3  # denoised images are closer to the clean ones than the noisy inputs
    assert evaluation.scores["psnr"] == pytest.approx(evaluation.scores["psnr_input"] + evaluation.scores["psnr_gain"])
    assert [p.name for p in evaluation.panels] == ["reconstructions"]  # an 8-number code: no 2-D latent map
    html = ds.report.write_report(run).read_text()
    assert "PSNR gain (dB)" in html and "Reconstructions" in html
    assert (run.path / "figures" / "reconstructions.png").stat().st_size > 1000


def test_vae_with_a_2d_code_gets_a_latent_map_and_manifold(tmp_path):
    data = ds.data.load("digits")
    model = ds.zoo.create("variational_autoencoder", data=data, seed=0, hidden=64)
    run = ds.fit(model, data, epochs=3, lr=3e-3, out=tmp_path / "run", progress=False)
    evaluation = run.evaluate("test")
    assert evaluation.scores["elbo"] == pytest.approx(
        -(evaluation.scores["reconstruction_nats"] + evaluation.scores["kl_nats"])
    )
    names = [p.name for p in evaluation.panels]
    assert names == ["reconstructions", "latent_map", "latent_manifold"]
    manifold = evaluation.panels[2]
    assert manifold.data.shape == (15 * 15, 1, 8, 8) and manifold.columns == 15
    assert evaluation.panels[1].data.shape == (len(data.test), 2)
