"""Generative adversarial networks: DCGAN (Radford et al. 2016) and Keras' mnist_acgan
(an auxiliary-classifier GAN, Odena et al. 2017).

A :class:`GAN` holds two networks: ``generator`` maps a latent code (and, when
``conditional``, a class) to an image in [0, 1]; ``discriminator`` maps an image to a
real/fake logit -- and, for an AC-GAN, class logits beside it. Every GAN declares
``task = 'generation'`` (``deepscope.train.generation``), which trains the two in turn.
``forward(x)`` is the discriminator, so tools that take a model and images (summary,
inspect, explain) see the network that reads images: (N, 1) for DCGAN, (N, 1 + K) for
an AC-GAN (the real/fake logit, then K class logits). ``generate`` draws images.
"""

from __future__ import annotations

import torch
from torch import nn

from deepscope.errors import InvalidArgumentError, invalid
from deepscope.recipe import Recipe
from deepscope.zoo.checks import bounded_int, image_shape
from deepscope.zoo.registry import register

__all__ = ["GAN", "dcgan", "mnist_acgan"]

MAX_GENERATED = 65_536  # images one generate() call makes (batch larger requests)


class GAN(nn.Module):
    """A generator and a discriminator trained against each other.

    ``generator(z, labels)`` takes latent codes (N, latent_dim) -- and class indices (N,)
    when ``conditional``, else None -- and returns images (N, C, H, W) in [0, 1].
    ``discriminator(x)`` returns (N, 1) real/fake logits, or (N, 1 + num_classes) with the
    auxiliary class logits of an AC-GAN. Latent codes are uniform in [-1, 1], as in both
    references."""

    task = "generation"

    def __init__(
        self, generator: nn.Module, discriminator: nn.Module, latent_dim: int, num_classes: int, conditional: bool
    ) -> None:
        super().__init__()
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim, self.conditional = int(latent_dim), bool(conditional)
        self.num_classes = int(num_classes) if conditional else 0  # the classes it can be asked for

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.discriminator(x)  # (N, 1) or (N, 1 + num_classes)

    def latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` latent codes (n, latent_dim), uniform in [-1, 1], drawn from ``generator`` (on
        its own device, so a seed gives the same codes on any device) or the global RNG, and
        placed on the model's device."""
        device = generator.device if generator is not None else self._device()
        z = torch.rand((n, self.latent_dim), generator=generator, device=device) * 2 - 1
        return z.to(self._device())

    @torch.no_grad()
    def generate_from(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images (N, C, H, W) in [0, 1] for latent codes ``z`` (N, latent_dim) (and classes
        ``labels`` (N,) for a conditional model), drawn in eval mode (BatchNorm's running
        statistics); the model's mode is restored."""
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise invalid("z", f"latent codes (N, {self.latent_dim})", tuple(z.shape))
        labels = self._check_labels(labels, len(z))
        was_training = self.training
        self.eval()
        try:
            return self.generator(z.to(self._device()), labels).float()
        finally:
            self.train(was_training)

    def generate(
        self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """``n`` images (n, C, H, W) in [0, 1]. The latent codes come from ``generator`` (a
        ``torch.Generator``; the same seed gives the same images) or the global RNG. A
        conditional model draws images of ``labels`` (n,) (class indices), or of classes drawn
        from the same generator after the codes when ``labels`` is None; an unconditional model
        takes no labels."""
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_GENERATED:
            raise invalid("n", f"an int in [1, {MAX_GENERATED}]", n)
        if labels is not None and not self.conditional:
            raise InvalidArgumentError(
                "`labels` must be None: this GAN is unconditional (it cannot be asked for a class). "
                f"Received: labels of shape {tuple(labels.shape) if isinstance(labels, torch.Tensor) else labels!r}"
            )
        z = self.latent(n, generator)
        if labels is None and self.conditional:
            device = generator.device if generator is not None else self._device()
            labels = torch.randint(0, self.num_classes, (n,), generator=generator, device=device)
        return self.generate_from(z, labels)

    def _check_labels(self, labels: torch.Tensor | None, n: int) -> torch.Tensor | None:
        if not self.conditional:
            if labels is not None:
                raise invalid("labels", "None (this GAN is unconditional)", "a tensor")
            return None
        if labels is None:
            raise invalid("labels", f"class indices (N,) in [0, {self.num_classes}) for a conditional GAN", None)
        if not isinstance(labels, torch.Tensor) or labels.dtype.is_floating_point or labels.dtype == torch.bool:
            raise invalid("labels", "a tensor of integer class indices (N,)", type(labels).__name__)
        if tuple(labels.shape) != (n,):
            raise invalid("labels", f"one class index per image, shape ({n},)", tuple(labels.shape))
        if n and (int(labels.min()) < 0 or int(labels.max()) >= self.num_classes):
            raise invalid(
                "labels",
                f"class indices in [0, {self.num_classes})",
                f"values in [{int(labels.min())}, {int(labels.max())}]",
            )
        return labels.long().to(self._device())

    def _device(self) -> torch.device:
        return next(self.parameters()).device


# ----------------------------------------------------------------------------- DCGAN
def _to_unit(x: torch.Tensor) -> torch.Tensor:
    """The references' tanh output in [-1, 1], mapped to the data's [0, 1]."""
    return (torch.tanh(x) + 1) / 2


class DCGANGenerator(nn.Module):
    """Radford et al.'s generator for small images: project and reshape to (2w, H/4, W/4),
    then two stride-2 transposed convolutions (BatchNorm + ReLU between, tanh at the end)."""

    def __init__(self, out_shape: tuple[int, int, int], latent_dim: int, width: int) -> None:
        super().__init__()
        c, h, w = out_shape
        self.project = nn.Sequential(
            nn.Linear(latent_dim, 2 * width * (h // 4) * (w // 4), bias=False),
            nn.Unflatten(1, (2 * width, h // 4, w // 4)),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(),  # (N, 2w, h/4, w/4): 7x7 for MNIST
        )
        self.up = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),  # (N, w, h/2, w/2)
            nn.ConvTranspose2d(width, c, 4, stride=2, padding=1),  # (N, c, h, w)
        )

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return _to_unit(self.up(self.project(z)))


class DCGANDiscriminator(nn.Module):
    """Radford et al.'s discriminator: stride-2 convolutions with LeakyReLU(0.2), BatchNorm on
    every layer but the first, and one real/fake logit from the flattened features."""

    def __init__(self, in_shape: tuple[int, int, int], width: int) -> None:
        super().__init__()
        c, h, w = in_shape
        self.features = nn.Sequential(
            nn.Conv2d(c, width, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),  # (N, w, h/2, w/2); no BatchNorm on the first layer
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(2 * width),
            nn.LeakyReLU(0.2),  # (N, 2w, h/4, w/4)
            nn.Flatten(),
        )
        self.head = nn.Linear(2 * width * (h // 4) * (w // 4), 1)  # (N, 1) real/fake logit

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x * 2 - 1))  # the references' [-1, 1] inputs


def _radford_init(module: nn.Module) -> None:
    """Radford et al.: every weight from N(0, 0.02); BatchNorm scales from N(1, 0.02)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


@register(
    "dcgan",
    kind="image",
    task="generation",
    reference=(
        "Radford et al. 2016 (DCGAN): strided and transposed convolutions, BatchNorm, ReLU/LeakyReLU, "
        "Adam 2e-4 with beta1 0.5; digits recognisable after a few MNIST epochs"
    ),
    recipe=Recipe(
        epochs=5,
        batch_size=128,
        optimizer="adam",
        lr=2e-4,
        momentum=0.5,
        monitor="val_d_loss",
        keep="last",
        augment="none",
    ),  # fmt: skip
    example_shape=(1, 28, 28),
)
def dcgan(in_shape: tuple[int, int, int], num_classes: int, latent_dim: int = 100, width: int = 64) -> GAN:
    """DCGAN (Radford et al. 2016) for small images: project to 7x7, two transposed convolutions up."""
    shape = image_shape(in_shape, "dcgan (two stride-2 layers)", multiple=4, smallest=8)
    bounded_int(latent_dim, "latent_dim", 4096)
    bounded_int(width, "width", 1024)
    model = GAN(DCGANGenerator(shape, latent_dim, width), DCGANDiscriminator(shape, width), latent_dim, 0, False)
    _radford_init(model)
    return model


# ----------------------------------------------------------------------------- AC-GAN
class ACGANGenerator(nn.Module):
    """Keras mnist_acgan's generator: the latent code times a learned embedding of the class,
    a dense layer to (4w, H/4 - 4, W/4 - 4), a 5x5 'valid' transposed convolution and two 5x5
    stride-2 ones (ReLU then BatchNorm, as Keras orders them; tanh at the end)."""

    def __init__(self, out_shape: tuple[int, int, int], latent_dim: int, num_classes: int, width: int) -> None:
        super().__init__()
        c, h, w = out_shape
        # Keras' Embedding(num_classes, latent_dim), held as a plain table: an nn.Embedding would make
        # tools that guess inputs from layers (summary, explain) feed this image model token ids.
        self.class_codes = nn.Parameter(torch.empty(num_classes, latent_dim))
        self.project = nn.Sequential(
            nn.Linear(latent_dim, 4 * width * (h // 4 - 4) * (w // 4 - 4)),
            nn.ReLU(),
            nn.Unflatten(1, (4 * width, h // 4 - 4, w // 4 - 4)),  # (N, 4w, 3, 3) for MNIST
        )
        self.up = nn.Sequential(
            nn.ConvTranspose2d(4 * width, 2 * width, 5),
            nn.ReLU(),
            nn.BatchNorm2d(2 * width),  # (N, 2w, h/4, w/4)
            nn.ConvTranspose2d(2 * width, width, 5, stride=2, padding=2, output_padding=1),
            nn.ReLU(),
            nn.BatchNorm2d(width),  # (N, w, h/2, w/2)
            nn.ConvTranspose2d(width, c, 5, stride=2, padding=2, output_padding=1),  # (N, c, h, w)
        )
        _keras_init(self)
        nn.init.xavier_normal_(self.class_codes)  # Keras: glorot_normal embeddings and transposed kernels
        for m in self.up:
            if isinstance(m, nn.ConvTranspose2d):
                nn.init.xavier_normal_(m.weight)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = z * self.class_codes[labels]  # (N, latent_dim): the class scales the code, element by element
        return _to_unit(self.up(self.project(h)))


class ACGANDiscriminator(nn.Module):
    """Keras mnist_acgan's discriminator: four 3x3 convolutions (32, 64, 128, 256 filters;
    strides 2, 1, 2, 1) with LeakyReLU(0.2) and dropout 0.3, then one real/fake logit and
    ``num_classes`` auxiliary class logits from the flattened features."""

    def __init__(self, in_shape: tuple[int, int, int], num_classes: int, width: int) -> None:
        super().__init__()
        c, h, w = in_shape
        layers: list[nn.Module] = []
        channels = c
        for i, stride in enumerate((2, 1, 2, 1)):
            layers += [
                nn.Conv2d(channels, width * 2**i, 3, stride=stride, padding=1),
                nn.LeakyReLU(0.2),
                nn.Dropout(0.3),
            ]
            channels = width * 2**i
        self.features = nn.Sequential(*layers, nn.Flatten())  # (N, 8w * ceil(h/4) * ceil(w/4))
        self.head = nn.Linear(channels * -(-h // 4) * -(-w // 4), 1 + num_classes)  # real/fake, then classes
        _keras_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x * 2 - 1))  # Keras scales MNIST to [-1, 1]


def _keras_init(module: nn.Module) -> None:
    """Keras' defaults: Glorot-uniform weights, zero biases. (torch's uniform biases would
    swamp the generator's small first-layer inputs -- codes times class embeddings of std
    ~0.1 -- and every sample would come out the same.)"""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)


@register(
    "mnist_acgan",
    kind="image",
    task="generation",
    reference=(
        "Keras mnist_acgan.py (AC-GAN, Odena et al. 2017): class-conditional digits, recognisable after "
        "~5 epochs and good by ~15 (Adam 2e-4, beta1 0.5, batch 100, 100 epochs)"
    ),
    recipe=Recipe(
        epochs=5,
        batch_size=100,
        optimizer="adam",
        lr=2e-4,
        momentum=0.5,
        monitor="val_class_accuracy",
        keep="last",
        augment="none",
    ),  # fmt: skip
    example_shape=(1, 28, 28),
    example_classes=2,  # the contract's 4-sample batch holds both classes: every class embedding moves
)
def mnist_acgan(
    in_shape: tuple[int, int, int], num_classes: int, latent_dim: int = 100, width: int = 96, d_width: int = 32
) -> GAN:
    """Keras' mnist_acgan: class-conditional generator; discriminator with real/fake and class heads."""
    shape = image_shape(in_shape, "mnist_acgan (a 5x5 'valid' and two stride-2 layers)", multiple=4, smallest=20)
    bounded_int(latent_dim, "latent_dim", 4096)
    bounded_int(width, "width", 1024)
    bounded_int(d_width, "d_width", 1024)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or not 2 <= num_classes <= 10_000:
        raise invalid("num_classes", "an int in [2, 10000] (an AC-GAN generates images of a class)", num_classes)
    return GAN(
        ACGANGenerator(shape, latent_dim, num_classes, width),
        ACGANDiscriminator(shape, num_classes, d_width),
        latent_dim,
        num_classes,
        True,
    )
