"""Autoencoders: a convolutional autoencoder, Keras' mnist_denoising_autoencoder,
variational_autoencoder and mnist_swwae (stacked what-where autoencoder).

Every one declares ``task = 'reconstruction'`` (``deepscope.train.reconstruction``): it
trains on any images in [0, 1] -- the target is the input -- and outputs Bernoulli *logits*
(N, C, H, W); ``torch.sigmoid`` of the output is the reconstruction. Those with a code
(``encode``/``decode``) get a latent map and a decoded manifold in their report when the
code has 2 dimensions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from deepscope.errors import invalid
from deepscope.recipe import Recipe
from deepscope.zoo.checks import bounded_int, image_shape
from deepscope.zoo.registry import register

# The Keras examples' autoencoder recipe: Adam 1e-3, batch 128, the best epoch by validation loss.
RECONSTRUCTION_RECIPE = Recipe(batch_size=128, optimizer="adam", lr=1e-3, monitor="val_loss", augment="none")

__all__ = [
    "ConvAutoencoder",
    "DenoisingAutoencoder",
    "VariationalAutoencoder",
    "WhatWhereAutoencoder",
    "autoencoder",
    "mnist_denoising_autoencoder",
    "mnist_swwae",
    "variational_autoencoder",
]


class ConvAutoencoder(nn.Module):
    """Keras' mnist_denoising_autoencoder layout: two stride-2 convolutions (32, 64 filters)
    to a ``latent_dim`` code, and two stride-2 transposed convolutions back.

    See :class:`DenoisingAutoencoder` for the one that learns to undo noise."""

    task = "reconstruction"

    def __init__(self, in_shape: tuple[int, int, int], latent_dim: int = 16) -> None:
        super().__init__()
        c, h, w = image_shape(in_shape, "a convolutional autoencoder (two stride-2 layers)", multiple=4)
        bounded_int(latent_dim, "latent_dim", 4096)
        self.latent_dim, self.hidden = latent_dim, (64, h // 4, w // 4)
        self.encoder = nn.Sequential(
            nn.Conv2d(c, 32, 3, stride=2, padding=1),
            nn.ReLU(),  # (N, 32, h/2, w/2)
            nn.Conv2d(32, 64, 3, stride=2, padding=1),
            nn.ReLU(),  # (N, 64, h/4, w/4)
            nn.Flatten(),
            nn.Linear(64 * (h // 4) * (w // 4), latent_dim),  # (N, latent_dim)
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, 64 * (h // 4) * (w // 4)),
            nn.Unflatten(1, self.hidden),  # (N, 64, h/4, w/4)
            nn.ConvTranspose2d(64, 64, 3, stride=2, padding=1, output_padding=1),
            nn.ReLU(),  # (N, 64, h/2, w/2)
            nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1),
            nn.ReLU(),  # (N, 32, h, w)
            nn.ConvTranspose2d(32, c, 3, padding=1),  # (N, c, h, w) logits
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)  # (N, latent_dim)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)  # (N, C, H, W) logits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class DenoisingAutoencoder(ConvAutoencoder):
    """A :class:`ConvAutoencoder` whose input is corrupted by :meth:`corrupt` during training
    and evaluation (Keras' recipe: add N(0.5, noise^2) noise, clip to [0, 1]); it learns to
    output the clean image (``train.reconstruction`` calls ``corrupt``)."""

    def __init__(self, in_shape: tuple[int, int, int], latent_dim: int = 16, noise: float = 0.5) -> None:
        super().__init__(in_shape, latent_dim)
        if not isinstance(noise, (int, float)) or isinstance(noise, bool) or not 0 < noise <= 10:
            raise invalid("noise", "a number in (0, 10]: the noise's standard deviation", noise)
        self.noise = float(noise)

    def corrupt(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The noisy input ``clip(x + N(0.5, noise^2), 0, 1)``, drawn with ``generator``."""
        drawn = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        return (x + 0.5 + self.noise * drawn).clamp(0, 1)


class VariationalAutoencoder(nn.Module):
    """Keras' variational_autoencoder (Kingma & Welling 2014): an MLP encoder to the mean and
    log-variance of a Gaussian code, a sample drawn by the reparameterisation trick, an MLP
    decoder to Bernoulli logits. Each forward pass sets ``added_loss`` to the batch's mean
    KL divergence from the N(0, I) prior, so the trainer minimises the negative ELBO (nats
    per image). In eval mode the code is the posterior mean (deterministic reconstructions);
    :meth:`elbo_terms` gives the ELBO's single-sample estimate that evaluation reports."""

    task = "reconstruction"

    def __init__(self, in_shape: tuple[int, int, int], latent_dim: int = 2, hidden: int = 512) -> None:
        super().__init__()
        image_shape(in_shape, "variational_autoencoder")
        bounded_int(latent_dim, "latent_dim", 1024)
        size = in_shape[0] * in_shape[1] * in_shape[2]
        self.latent_dim, self.in_shape = latent_dim, tuple(in_shape)
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(size, hidden), nn.ReLU())  # (N, hidden)
        self.mean = nn.Linear(hidden, latent_dim)
        self.log_var = nn.Linear(hidden, latent_dim)
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, size),
            nn.Unflatten(1, tuple(in_shape)),  # (N, C, H, W) logits
        )
        self.added_loss: torch.Tensor | None = None

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The posterior's mean and log-variance, each (N, latent_dim)."""
        h = self.encoder(x)
        return self.mean(h), self.log_var(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    @torch.no_grad()
    def generate(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` images (n, C, H, W) in [0, 1] decoded from codes drawn from the prior."""
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 100_000:
            raise invalid("n", "an int in [1, 100000]", n)
        device = self.mean.weight.device
        z = torch.randn((n, self.latent_dim), generator=generator, device=device)
        return torch.sigmoid(self.decode(z))

    def elbo_terms(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The negative ELBO's two terms per image (N,), in nats: the reconstruction's
        cross-entropy for one code drawn from the posterior (with ``generator``), and the KL."""
        mean, log_var = self.encode(x)
        kl = -0.5 * (1 + log_var - mean.pow(2) - log_var.exp()).sum(dim=1)
        drawn = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        logits = self.decode(mean + drawn * (0.5 * log_var).exp())
        nll = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
        return nll, kl

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean, log_var = self.encode(x)
        # KL(N(mean, exp(log_var)) || N(0, I)) per image, in nats (Kingma & Welling, appendix B)
        kl = -0.5 * (1 + log_var - mean.pow(2) - log_var.exp()).sum(dim=1)
        self.added_loss = kl.mean()
        z = mean + torch.randn_like(mean) * (0.5 * log_var).exp() if self.training else mean
        return self.decode(z)


class _ResidualBlock(nn.Module):
    """Keras mnist_swwae's convresblock: a ``ksize`` convolution, then two (ELU, 1x1
    convolution) steps, added to the first convolution's output."""

    def __init__(self, c_in: int, c_out: int, ksize: int = 3) -> None:
        super().__init__()
        self.first = nn.Conv2d(c_in, c_out, ksize, padding=ksize // 2)
        self.rest = nn.Sequential(nn.ELU(), nn.Conv2d(c_out, c_out, 1), nn.ELU(), nn.Conv2d(c_out, c_out, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.first(x)  # (N, c_out, H, W)
        return y + self.rest(y)


class WhatWhereAutoencoder(nn.Module):
    """Keras' mnist_swwae (Zhao et al. 2016, "Stacked What-Where Auto-encoders"): residual
    blocks and 2x2 max-pools down to 1x1 (the "what"); the decoder unpools with the
    positions each encoder pool took its maxima from (the "where") and mirrors the blocks.
    28x28 inputs are zero-padded to 32x32 (as Keras does) and the output cropped back."""

    task = "reconstruction"

    def __init__(self, in_shape: tuple[int, int, int], features: tuple[int, ...] = (8, 16, 32, 64, 128)) -> None:
        super().__init__()
        image_shape(in_shape, "mnist_swwae")
        features = tuple(int(f) for f in features)
        if not 1 <= len(features) <= 8 or min(features) < 1:
            raise invalid("features", "1 to 8 positive feature counts, one per level", features)
        c, h, w = in_shape
        side = 2 ** len(features)
        self.pad = ((-w) % side, (-h) % side)  # right, bottom padding to a multiple of 2**levels
        widths = (c, *features)
        self.down = nn.ModuleList(_ResidualBlock(widths[i], widths[i + 1]) for i in range(len(features)))
        self.up = nn.ModuleList(_ResidualBlock(widths[i + 1], widths[i]) for i in reversed(range(len(features))))
        self.in_shape = tuple(in_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        y = F.pad(
            x, (self.pad[0] // 2, self.pad[0] - self.pad[0] // 2, self.pad[1] // 2, self.pad[1] - self.pad[1] // 2)
        )
        wheres = []
        for block in self.down:
            y = block(y)  # (N, f_i, s, s)
            size = y.shape[-2:]
            y, where = F.max_pool2d(y, 2, return_indices=True)  # what (N, f_i, s/2, s/2), where: argmax positions
            wheres.append((where, size))
        for block, (where, size) in zip(self.up, reversed(wheres)):
            y = F.max_unpool2d(y, where, 2, output_size=size)  # each value back where its maximum was
            y = block(y)
        top, left = self.pad[1] // 2, self.pad[0] // 2
        return y[..., top : top + h, left : left + w]  # (N, C, H, W) logits


@register(
    "autoencoder",
    kind="image",
    task="reconstruction",
    reference="the Keras blog's convolutional autoencoder: MNIST digits through a 16-number code and back",
    recipe=RECONSTRUCTION_RECIPE.with_overrides(epochs=3),
    example_shape=(1, 28, 28),
)
def autoencoder(in_shape: tuple[int, int, int], num_classes: int, latent_dim: int = 16) -> ConvAutoencoder:
    """A convolutional autoencoder: stride-2 convolutions to a small code and back."""
    return ConvAutoencoder(in_shape, latent_dim=latent_dim)


@register(
    "mnist_denoising_autoencoder",
    kind="image",
    task="reconstruction",
    reference="Keras mnist_denoising_autoencoder.py: clean digits out of N(0.5, 0.5)-noised ones; >= +6 dB PSNR",
    # Keras trains 30 epochs; after 1 epoch val_psnr is already 16.1 dB against the noisy inputs'
    # ~4.8 dB (seed 0, benchmarks/zoo_table.py), so 3 epochs keep the CPU run short.
    recipe=RECONSTRUCTION_RECIPE.with_overrides(epochs=3),
    example_shape=(1, 28, 28),
)
def mnist_denoising_autoencoder(
    in_shape: tuple[int, int, int], num_classes: int, latent_dim: int = 16, noise: float = 0.5
) -> DenoisingAutoencoder:
    """Keras' denoising autoencoder: noisy digits in, clean digits out."""
    return DenoisingAutoencoder(in_shape, latent_dim=latent_dim, noise=noise)


@register(
    "variational_autoencoder",
    kind="image",
    task="reconstruction",
    reference="Keras variational_autoencoder.py: a 2-D latent manifold of MNIST digits; ELBO reported",
    recipe=RECONSTRUCTION_RECIPE.with_overrides(epochs=30),
    example_shape=(1, 28, 28),
)
def variational_autoencoder(
    in_shape: tuple[int, int, int], num_classes: int, latent_dim: int = 2, hidden: int = 512
) -> VariationalAutoencoder:
    """Keras' VAE: MLP encoder to a Gaussian code, reparameterised sample, MLP decoder."""
    return VariationalAutoencoder(in_shape, latent_dim=latent_dim, hidden=hidden)


@register(
    "mnist_swwae",
    kind="image",
    task="reconstruction",
    reference="Keras mnist_swwae.py: reconstructions from 1x1 codes through what-where unpooling, 5 epochs",
    recipe=RECONSTRUCTION_RECIPE.with_overrides(epochs=5),
    example_shape=(1, 28, 28),
)
def mnist_swwae(
    in_shape: tuple[int, int, int], num_classes: int, features: tuple[int, ...] = (8, 16, 32, 64, 128)
) -> WhatWhereAutoencoder:
    """Keras' stacked what-where autoencoder: residual blocks, max-pool switches reused to unpool."""
    return WhatWhereAutoencoder(in_shape, features=features)
