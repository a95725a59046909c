"""The generation task: a GAN's generator and discriminator trained against each other.

Declared by the model (``model.task = 'generation'``, see ``deepscope.zoo.gan``); learns
from images in [0, 1] -- with their class labels for a class-conditional GAN (AC-GAN).
Each training step (Goodfellow et al. 2014, with Keras mnist_acgan's choices):

1. the generator makes one fake per real image, from latent codes drawn from the global RNG
   (the trainer seeds it and restores it on resume) and, for an AC-GAN, the batch's own
   classes (so fakes keep the data's class balance);
2. the discriminator steps on real vs detached fakes: binary cross-entropy of the real/fake
   logit with *one-sided label smoothing* (real target 0.95, Keras' ``soft_one``; Salimans
   et al. 2016) and, for an AC-GAN, the auxiliary class cross-entropy on the *real* images
   only (Keras: training the class head on fakes rewards the generator for easy-to-classify
   images rather than real-looking ones). As Keras averages over the 2N images, the loss
   is ``(bce_real + bce_fake) / 2 + ce_real`` per pair;
3. the generator steps on the same fakes through the updated discriminator: the
   non-saturating loss (target 1 for its fakes) plus, for an AC-GAN, the class
   cross-entropy of the class each fake was asked for.

The trainer's one optimizer holds both networks' parameters; each ``update`` steps only the
network it names. History columns: ``d_loss``, ``g_loss``, ``d_real`` and ``d_fake`` (the
discriminator's mean probability of "real" on real and on fake images; near 0.5 when
neither network wins), for an AC-GAN ``class_accuracy`` (the auxiliary head on real
images); ``loss`` is ``d_loss + g_loss``. With a judge (``deepscope.train.quality``) the
evaluation adds the classifier score and the Fréchet distance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from deepscope.errors import DataError, InvalidArgumentError
from deepscope.train.devices import device_of
from deepscope.train.evaluate import Panel, TaskEvaluation
from deepscope.train.quality import (
    EVAL_SEED,
    QUALITY_SAMPLES,
    judge_of,
    judge_outputs,
    sample_grid,
    sample_quality,
)
from deepscope.train.reconstruction import check_unit_images
from deepscope.train.tasks import Task, Update

if TYPE_CHECKING:
    from deepscope.data import Dataset

__all__ = ["REAL_TARGET", "Generation", "gan_of", "interpolations"]

REAL_TARGET = 0.95  # the discriminator's target for real images (one-sided label smoothing, Keras' soft_one)
INTERPOLATION_ROWS = 8  # rows of the interpolation panel, each between two latent codes
INTERPOLATION_STEPS = 10  # images per row, both ends included


def gan_of(net: nn.Module) -> nn.Module:
    """The GAN inside ``net``: ``net`` itself, or the model a DistributedDataParallel
    (``.module``) or ``torch.compile`` (``._orig_mod``) wrapper holds."""
    model = net
    while not all(hasattr(model, name) for name in ("generator", "discriminator", "latent", "conditional")):
        inner = model._modules.get("module") or model._modules.get("_orig_mod")  # DDP, torch.compile
        if inner is None:
            raise InvalidArgumentError(
                "The generation task trains GANs: a model with `generator`, `discriminator`, `latent()` and "
                f"`conditional` (e.g. zoo 'dcgan', 'mnist_acgan'). Received: a {type(net).__name__}."
            )
        model = inner
    return model


class Generation(Task):
    """A GAN's adversarial training (see the module docstring); the validation loss uses fixed
    latent codes, so its numbers mean the same every epoch."""

    name = "generation"
    higher_is_better = {"loss": False, "d_loss": False, "g_loss": False, "class_accuracy": True}
    custom_step = True
    distributed = False  # its two networks step separately, outside DDP's gradient averaging (one process only)
    model_task = True

    def __init__(self) -> None:
        self.columns = ["d_loss", "g_loss", "d_real", "d_fake"]

    def prepare(self, model: nn.Module, data: Dataset) -> None:
        gan = gan_of(model)
        check_unit_images(data, self.name)
        made = gan.generate(1, generator=torch.Generator().manual_seed(0))
        if tuple(made.shape[1:]) != tuple(data.input_shape):
            raise DataError(
                f"The GAN makes images of shape {tuple(made.shape[1:])}; {data.name!r} holds {tuple(data.input_shape)}. "
                "Build it for this data: zoo.create(name, data=data)."
            )
        self.columns = _columns(gan)
        self.higher_is_better = {"loss": False, "d_loss": False, "g_loss": False}
        if gan.conditional:
            if data.task != "classification" or not data.classes:
                raise DataError(
                    f"A class-conditional GAN learns from labelled images; {data.name!r} is {data.task} data."
                )
            if len(data.classes) != gan.num_classes:
                raise DataError(
                    f"The GAN generates {gan.num_classes} classes; {data.name!r} has {len(data.classes)}. "
                    "Build it for this data: zoo.create(name, data=data)."
                )
            self.higher_is_better["class_accuracy"] = True

    # ------------------------------------------------------------------------- losses
    def _discriminator_terms(
        self, gan: nn.Module, x: torch.Tensor, labels: torch.Tensor, fake: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-pair discriminator loss (N,), and its outputs on the real and fake images."""
        real_out = gan.discriminator(x).float()  # (N, 1) or (N, 1 + K)
        fake_out = gan.discriminator(fake).float()
        real_bce = F.binary_cross_entropy_with_logits(
            real_out[:, 0], torch.full_like(real_out[:, 0], REAL_TARGET), reduction="none"
        )
        fake_bce = F.binary_cross_entropy_with_logits(
            fake_out[:, 0], torch.zeros_like(fake_out[:, 0]), reduction="none"
        )
        loss = (real_bce + fake_bce) / 2
        if gan.conditional:
            loss = loss + F.cross_entropy(real_out[:, 1:], labels, reduction="none")
        return loss, real_out, fake_out

    def _generator_terms(self, gan: nn.Module, fake: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Per-sample generator loss (N,): fool the discriminator, and be of the asked class."""
        out = gan.discriminator(fake).float()
        loss = F.binary_cross_entropy_with_logits(out[:, 0], torch.ones_like(out[:, 0]), reduction="none")
        if gan.conditional:
            loss = loss + F.cross_entropy(out[:, 1:], labels, reduction="none")
        return loss

    def _values(
        self, gan: nn.Module, d_loss: torch.Tensor, g_loss: torch.Tensor, real_out, fake_out, labels
    ) -> torch.Tensor:
        """The history columns per sample (N, k), in the order of ``self.columns``."""
        values = [d_loss, g_loss, torch.sigmoid(real_out[:, 0]), torch.sigmoid(fake_out[:, 0])]
        if gan.conditional:
            values.append((real_out[:, 1:].argmax(dim=1) == labels).float())
        return torch.stack(values, dim=1).detach()

    def train_step(
        self, net: nn.Module, x: torch.Tensor, target: torch.Tensor, update: Update
    ) -> tuple[torch.Tensor, torch.Tensor]:
        gan = gan_of(net)
        labels = _labels(gan, target)
        fake = gan.generator(gan.latent(len(x)), labels)  # (N, C, H, W); codes from the global RNG
        d_loss, real_out, fake_out = self._discriminator_terms(gan, x, labels, fake.detach())
        update(d_loss.mean(), gan.discriminator.parameters())
        g_loss = self._generator_terms(gan, fake, labels)
        update(g_loss.mean(), gan.generator.parameters())
        values = self._values(gan, d_loss, g_loss, real_out, fake_out, labels)
        return values, (d_loss.mean() + g_loss.mean()).detach()

    def eval_step(self, net: nn.Module, x: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        gan = gan_of(net)
        labels = _labels(gan, target)
        generator = torch.Generator(x.device).manual_seed(EVAL_SEED)  # fixed fakes: the global RNG is untouched
        fake = gan.generator(gan.latent(len(x), generator), labels)
        d_loss, real_out, fake_out = self._discriminator_terms(gan, x, labels, fake)
        g_loss = self._generator_terms(gan, fake, labels)
        return self._values(gan, d_loss, g_loss, real_out, fake_out, labels), d_loss.mean() + g_loss.mean()

    def batch_sums(self, output: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        return {name: output[:, i].sum() for i, name in enumerate(self.columns)}  # output: (N, k) per sample

    # ------------------------------------------------------------------------- evaluation
    @torch.inference_mode()
    def evaluate(
        self,
        model: nn.Module,
        data: Dataset,
        split: str = "test",
        batch_size: int = 256,
        judge: nn.Module | None = None,
    ) -> TaskEvaluation:
        """The losses on ``split`` (real images against as many fixed-seed fakes), a sample grid
        and latent interpolations; with a ``judge`` (else the one attached to the model,
        :func:`~deepscope.train.quality.attach_judge`) the Fréchet distance between the judge's
        features of up to 5,000 real images of the split and as many samples, and for a
        conditional GAN the classifier score on those samples beside the judge's accuracy on
        the real images."""
        gan = gan_of(model)
        part = data.split(split)
        x = part.tensors[0]
        labels = part.tensors[1] if len(part.tensors) > 1 else None
        if not len(x):
            raise InvalidArgumentError(f"The {split} split of {data.name!r} is empty: nothing to evaluate.")
        was_training = model.training
        model.eval()
        device = device_of(model)
        generator = torch.Generator(device).manual_seed(EVAL_SEED)
        columns = _columns(gan)
        totals = torch.zeros(len(columns))
        try:
            for start in range(0, len(x), batch_size):
                xb = x[start : start + batch_size].to(device)
                yb = labels[start : start + batch_size].to(device) if gan.conditional else None
                fake = gan.generator(gan.latent(len(xb), generator), yb)
                d_loss, real_out, fake_out = self._discriminator_terms(gan, xb, yb, fake)
                g_loss = self._generator_terms(gan, fake, yb)
                totals += self._values(gan, d_loss, g_loss, real_out, fake_out, yb).sum(dim=0).cpu()
            panels = self._panels(gan, data.classes)
        finally:
            model.train(was_training)
        scores = {name: float(total) / len(x) for name, total in zip(columns, totals)}
        cards = [("D loss", "d_loss"), ("G loss", "g_loss"), ("D(real)", "d_real"), ("D(fake)", "d_fake")]
        lines = [
            f"discriminator: mean P(real) {scores['d_real']:.3f} on real images, {scores['d_fake']:.3f} on samples "
            "(0.5 on both when neither network wins)"
        ]
        if gan.conditional:
            cards.append(("D class accuracy (real images)", "class_accuracy"))
        higher = {"classifier_score": True, "frechet": False, "judge_accuracy": True, "class_accuracy": True}
        judge = judge if judge is not None else judge_of(model)
        if judge is None:
            lines.append(
                "no judge: train or evaluate with --judge RUN (a classifier run of the same images) "
                "for the classifier score and the Fréchet distance"
            )
        else:
            judge.to(device)
            shown = x[:QUALITY_SAMPLES]
            real_features, real_logits = judge_outputs(judge, shown, batch_size)
            quality = sample_quality(
                gan, judge, real_features, generator=torch.Generator().manual_seed(EVAL_SEED), batch_size=batch_size
            )
            scores |= quality
            cards = [("Fréchet distance (judge features)", "frechet"), *cards]
            lines.append(
                f"Fréchet distance {quality['frechet']:.3f} between the judge's features of {len(shown):,} real "
                f"{split} images and of {len(shown):,} samples (lower is better; an MNIST analogue of FID, "
                "comparable only between runs scored by the same judge)"
            )
            if gan.conditional:
                if labels is not None:
                    scores["judge_accuracy"] = float((real_logits.argmax(dim=1) == labels[: len(shown)]).float().mean())
                    cards.insert(1, ("judge accuracy on real images", "judge_accuracy"))
                cards.insert(0, ("classifier score", "classifier_score"))
                lines.append(
                    f"classifier score {quality['classifier_score']:.4f}: the judge names the class each sample was "
                    "generated for"
                    + (
                        f" (on real {split} images it is right {scores['judge_accuracy']:.4f} of the time)"
                        if labels is not None
                        else ""
                    )
                )
        return TaskEvaluation(
            task=self.name,
            split=split,
            samples=len(x),
            loss=scores["d_loss"] + scores["g_loss"],
            scores=scores,
            cards=cards,
            lines=lines,
            panels=panels,
            higher_is_better={k: v for k, v in higher.items() if k in scores},
        )

    def _panels(self, gan: nn.Module, classes: list[str] | None) -> list[Panel]:
        images, labels, columns = sample_grid(gan, torch.Generator().manual_seed(EVAL_SEED))
        names = [classes[k] if classes else str(k) for k in labels.tolist()] if labels is not None else None
        grid = Panel(
            "samples",
            "Samples",
            (
                f"{columns} samples of each class, one row per class, from fixed latent codes (seed {EVAL_SEED})."
                if labels is not None
                else f"{len(images)} samples from fixed latent codes (seed {EVAL_SEED})."
            ),
            "images",
            images.numpy(),
            labels=names,
            columns=columns,
        )
        walks = interpolations(gan, torch.Generator().manual_seed(EVAL_SEED + 1))
        walk = Panel(
            "interpolations",
            "Latent interpolations",
            f"Each row walks in {INTERPOLATION_STEPS} equal steps along the straight line between two latent codes"
            + (" (the row's class fixed: rows cycle through the classes)" if gan.conditional else "")
            + ": a smooth morph means the generator has learned a continuous space rather than memorised images.",
            "images",
            walks.numpy(),
            columns=INTERPOLATION_STEPS,
        )
        return [grid, walk]


def _columns(gan: nn.Module) -> list[str]:
    return ["d_loss", "g_loss", "d_real", "d_fake"] + (["class_accuracy"] if gan.conditional else [])


def _labels(gan: nn.Module, target: torch.Tensor) -> torch.Tensor | None:
    """The batch's class indices (N,) for a conditional GAN, else None."""
    if not gan.conditional:
        return None
    if target.ndim != 1 or target.dtype.is_floating_point:
        raise InvalidArgumentError(
            "A class-conditional GAN needs one class index per image; this batch's targets have shape "
            f"{tuple(target.shape)} ({target.dtype}). Train it with augment='none' (MixUp/CutMix mix labels)."
        )
    return target


def interpolations(
    gan: nn.Module,
    generator: torch.Generator | None = None,
    rows: int = INTERPOLATION_ROWS,
    steps: int = INTERPOLATION_STEPS,
) -> torch.Tensor:
    """Images (rows * steps, C, H, W) on the CPU: row r decodes ``steps`` codes evenly spaced on
    the segment between two codes drawn from ``generator``; a conditional GAN's row r is of
    class r mod K."""
    start, end = gan.latent(rows, generator), gan.latent(rows, generator)  # (rows, latent_dim) each
    t = torch.linspace(0, 1, steps, device=start.device).view(1, steps, 1)
    z = (start.unsqueeze(1) * (1 - t) + end.unsqueeze(1) * t).flatten(0, 1)  # (rows * steps, latent_dim)
    labels = None
    if gan.conditional:
        labels = (torch.arange(rows) % gan.num_classes).repeat_interleave(steps)
    return gan.generate_from(z, labels).cpu()
