"""Tasks of models that output images of their input's shape: reconstruction (autoencoders,
denoising autoencoders, VAEs) and density (autoregressive models such as PixelCNN).

Both are declared by the model (``model.task``) and learn from any image data in [0, 1]: the
target is the input itself, so the data's labels are only kept for the class-coloured latent
map. The model outputs *logits* (N, C, H, W) of a Bernoulli per pixel, and the loss is the
binary cross-entropy summed over an image's pixels and averaged over images -- nats per
image, the unit the VAE's ELBO and the PixelCNN's negative log-likelihood are published in
(Keras' VAE example: ``binary_crossentropy * original_dim``). Grey levels in (0, 1) are
soft targets of the same cross-entropy, as in the Keras autoencoder examples; PSNR (of
``sigmoid(logits)``) is reported beside it, in the unit denoising papers use.

A model may add terms to its loss in its forward pass (``module.added_loss``, as Keras'
``add_loss``: a VAE's KL divergence), and may corrupt its inputs (``model.corrupt(x,
generator)``: a denoising autoencoder learns to undo the corruption).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from deepscope.errors import DataError, InvalidArgumentError
from deepscope.train.devices import device_of
from deepscope.train.evaluate import Panel, TaskEvaluation
from deepscope.train.tasks import Task, Update, added_loss

if TYPE_CHECKING:
    from deepscope.data import Dataset

__all__ = ["Density", "Reconstruction", "bernoulli_nll", "psnr"]

EVAL_SEED = 1234  # corruption noise of validation/test inputs: the same every epoch and every run
SHOWN = 16  # images per row of the report's reconstruction panel
CHECKED = 2048  # training samples whose range is checked when the task is prepared


def bernoulli_nll(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of ``logits`` against ``target`` (N, ...), summed per sample: (N,) nats."""
    return F.binary_cross_entropy_with_logits(logits.float(), target.float(), reduction="none").flatten(1).sum(1)


def psnr(reconstruction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio (dB, peak 1) of each image (N, ...) against ``target``: (N,)."""
    mse = (reconstruction.float() - target.float()).pow(2).flatten(1).mean(1)
    return 10 * torch.log10(1 / mse.clamp_min(1e-10))


class Reconstruction(Task):
    """The model rebuilds its (possibly corrupted) input; loss: nats per image (plus any
    ``added_loss``), metric: mean PSNR of the reconstructions in dB."""

    name = "reconstruction"
    higher_is_better = {"loss": False, "psnr": True}
    custom_step = True
    model_task = True

    def __init__(self) -> None:
        self.corrupt = None

    def prepare(self, model: nn.Module, data: Dataset) -> None:
        check_unit_images(data, self.name)
        corrupt = getattr(model, "corrupt", None)
        self.corrupt = corrupt if callable(corrupt) else None

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return bernoulli_nll(output, target).mean()

    def _forward(self, net: nn.Module, x: torch.Tensor, generator: torch.Generator | None):
        inputs = self.corrupt(x, generator) if self.corrupt is not None else x
        logits = net(inputs)
        loss = self.loss(logits, x) + added_loss(net)
        return psnr(torch.sigmoid(logits.detach().float()), x), loss

    def train_step(
        self, net: nn.Module, x: torch.Tensor, target: torch.Tensor, update: Update
    ) -> tuple[torch.Tensor, torch.Tensor]:
        scores, loss = self._forward(net, x, None)
        update(loss, None)
        return scores, loss

    def eval_step(self, net: nn.Module, x: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        generator = torch.Generator(x.device).manual_seed(EVAL_SEED)  # validation noise: fixed
        return self._forward(net, x, generator)

    def batch_sums(self, output: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"psnr": output.sum()}  # output: each image's PSNR (N,)

    @torch.inference_mode()
    def evaluate(self, model: nn.Module, data: Dataset, split: str = "test", batch_size: int = 256) -> TaskEvaluation:
        """Nats per image, PSNR of the reconstructions and, for a denoiser, of its noisy inputs;
        for a VAE (a model with ``elbo_terms(x, generator)``) the ELBO and its two terms, for one
        code drawn per image (PSNR and pictures use the posterior mean); panels of inputs and reconstructions, and for a
        2-D latent space the latent map and the decoded manifold."""
        x, labels = _split_tensors(data, split)
        was_training = model.training
        model.eval()
        device = device_of(model)
        generator = torch.Generator(device).manual_seed(EVAL_SEED)
        elbo_terms = getattr(model, "elbo_terms", None)  # a VAE: the ELBO with a code drawn from the posterior
        nll, added, out_psnr, in_psnr = [], [], [], []
        shown_inputs, shown_outputs = None, None
        try:
            for start in range(0, len(x), batch_size):
                xb = x[start : start + batch_size].to(device)
                inputs = self.corrupt(xb, generator) if self.corrupt is not None else xb
                logits = model(inputs).float()
                if callable(elbo_terms):
                    rec, kl = elbo_terms(xb, generator)
                    nll.append(rec.float().cpu())
                    added.append(float(kl.float().sum()))
                else:
                    nll.append(bernoulli_nll(logits, xb).cpu())
                    added.append(float(added_loss(model)) * len(xb))
                out_psnr.append(psnr(torch.sigmoid(logits), xb).cpu())
                in_psnr.append(psnr(inputs, xb).cpu())
                if shown_inputs is None:
                    shown_inputs, shown_outputs = inputs[:SHOWN].cpu(), torch.sigmoid(logits[:SHOWN]).cpu()
        finally:
            model.train(was_training)
        reconstruction = float(torch.cat(nll).mean())
        kl = sum(added) / len(x)
        scores = {"reconstruction_nats": reconstruction, "psnr": float(torch.cat(out_psnr).mean())}
        cards = [("PSNR (dB)", "psnr"), ("reconstruction (nats/image)", "reconstruction_nats")]
        lines = []
        if self.corrupt is not None:
            noisy = float(torch.cat(in_psnr).mean())
            scores |= {"psnr_input": noisy, "psnr_gain": scores["psnr"] - noisy}
            cards += [("PSNR of the noisy inputs (dB)", "psnr_input"), ("PSNR gain (dB)", "psnr_gain")]
            lines.append(
                f"denoised {scores['psnr']:.2f} dB against the noisy inputs' {noisy:.2f} dB: "
                f"{scores['psnr_gain']:+.2f} dB"
            )
        if kl:  # a model with an added loss: a VAE's KL divergence, the ELBO's second term
            scores |= {"kl_nats": kl, "elbo": -(reconstruction + kl)}
            cards = [("ELBO (nats/image)", "elbo"), ("KL (nats/image)", "kl_nats"), *cards]
            lines.append(
                f"ELBO {scores['elbo']:.2f} nats per image = -({reconstruction:.2f} reconstruction + {kl:.2f} KL)"
            )
        rows = [shown_inputs, shown_outputs] if self.corrupt is None else [x[:SHOWN], shown_inputs, shown_outputs]
        what = "originals, reconstructions" if self.corrupt is None else "originals, noisy inputs, denoised"
        panels = [
            Panel(
                "reconstructions",
                "Reconstructions",
                f"Test images, one row each: {what}.",
                "images",
                torch.cat(rows).clamp(0, 1).numpy(),
                columns=min(SHOWN, len(x)),
            )
        ]
        panels += latent_panels(model, x, labels, data.classes, batch_size)
        return TaskEvaluation(
            task=self.name,
            split=split,
            samples=len(x),
            loss=reconstruction + kl,
            scores=scores,
            cards=cards,
            lines=lines,
            panels=panels,
            higher_is_better={"psnr": True, "elbo": True},
        )


class Density(Task):
    """An autoregressive model of binary images (PixelCNN): the logits at each pixel predict
    that pixel from the ones before it. Loss and ``nll``: nats per image;
    ``bits_per_dim``: the same in bits per pixel."""

    name = "density"
    higher_is_better = {"loss": False, "bits_per_dim": False}
    custom_step = True
    model_task = True

    def prepare(self, model: nn.Module, data: Dataset) -> None:
        check_unit_images(data, self.name)
        sample = data.train.tensors[0][:CHECKED]
        if not bool(((sample == 0) | (sample == 1)).all()):
            raise DataError(
                f"A density model of binary images needs binary pixels; {data.name!r} has grey levels. "
                f"Load it binarised: 'binarized:{data.spec}'."
            )

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return bernoulli_nll(output, target).mean()

    def _forward(self, net: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        nll = bernoulli_nll(net(x), x)
        return nll.detach() / (math.log(2) * x[0].numel()), nll.mean()

    def train_step(
        self, net: nn.Module, x: torch.Tensor, target: torch.Tensor, update: Update
    ) -> tuple[torch.Tensor, torch.Tensor]:
        bits, loss = self._forward(net, x)
        update(loss, None)
        return bits, loss

    def eval_step(self, net: nn.Module, x: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self._forward(net, x)

    def batch_sums(self, output: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"bits_per_dim": output.sum()}  # output: each image's bits per pixel (N,)

    @torch.inference_mode()
    def evaluate(self, model: nn.Module, data: Dataset, split: str = "test", batch_size: int = 256) -> TaskEvaluation:
        """Negative log-likelihood (nats per image, bits per pixel) and, when the model can
        ``sample(n, generator=...)``, a grid of samples drawn pixel by pixel."""
        x, _ = _split_tensors(data, split)
        was_training = model.training
        model.eval()
        device = device_of(model)
        try:
            nll = torch.cat(
                [bernoulli_nll(model(x[i : i + batch_size].to(device)), x[i : i + batch_size].to(device)).cpu()
                 for i in range(0, len(x), batch_size)]
            )  # fmt: skip
            panels = []
            if callable(getattr(model, "sample", None)):
                samples = model.sample(SHOWN * 2, generator=torch.Generator(device).manual_seed(EVAL_SEED))
                panels.append(
                    Panel("samples", "Samples", "Images drawn pixel by pixel from the model (seed 1234).", "images",
                          samples.float().cpu().numpy(), columns=SHOWN)
                )  # fmt: skip
        finally:
            model.train(was_training)
        nats = float(nll.mean())
        bits = nats / (math.log(2) * x[0].numel())
        return TaskEvaluation(
            task=self.name,
            split=split,
            samples=len(x),
            loss=nats,
            scores={"nll_nats": nats, "bits_per_dim": bits},
            cards=[("NLL (nats/image)", "nll_nats"), ("bits per pixel", "bits_per_dim")],
            lines=[f"negative log-likelihood {nats:.2f} nats per image ({bits:.4f} bits per pixel)"],
            panels=panels,
        )


def check_unit_images(data: Dataset, task: str) -> None:
    """Refuse data that are not in-memory images with values in [0, 1]."""
    if data.kind != "image" or len(data.input_shape) != 3:
        raise DataError(f"The {task} task learns from images (C, H, W); {data.name!r} is {data.kind} data.")
    x = data.train.tensors[0]
    if not isinstance(x, torch.Tensor):
        raise DataError(
            f"The {task} task needs {data.name!r} in memory; load it with '?stream=no' (it is streamed from disk)."
        )
    sample = x[:CHECKED]
    if len(sample) and (float(sample.min()) < 0 or float(sample.max()) > 1):
        raise DataError(
            f"The {task} task reads pixels as probabilities in [0, 1]; {data.name!r} has values in "
            f"[{float(sample.min()):.3g}, {float(sample.max()):.3g}]."
        )


def _split_tensors(data: Dataset, split: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    part = data.split(split)
    x = part.tensors[0]
    if not len(x):
        raise InvalidArgumentError(f"The {split} split of {data.name!r} is empty: nothing to evaluate.")
    return x, (part.tensors[1] if len(part.tensors) > 1 else None)


MAP_POINTS = 5000  # test codes drawn in the latent map
MANIFOLD = 15  # the decoded manifold is MANIFOLD x MANIFOLD images (Keras' VAE example: 15)


@torch.inference_mode()
def latent_panels(
    model: nn.Module,
    x: torch.Tensor,
    labels: torch.Tensor | None,
    classes: list[str] | None,
    batch_size: int = 256,
) -> list[Panel]:
    """For a model with a 2-D latent space (``encode(x)`` returning codes (N, 2), or a
    (mean, log-variance) pair, and ``decode(z)`` returning logits): the test codes coloured by
    class, and the images decoded from a grid over the latent plane -- at the Gaussian
    quantiles 0.05..0.95 for a VAE (whose prior is N(0, I)), over the codes' range otherwise."""
    encode, decode = getattr(model, "encode", None), getattr(model, "decode", None)
    if not callable(encode) or not callable(decode):
        return []
    device = device_of(model)
    codes, variational = [], False
    for start in range(0, min(len(x), MAP_POINTS), batch_size):
        code = encode(x[start : min(start + batch_size, MAP_POINTS)].to(device))
        if isinstance(code, tuple):  # (mean, log-variance): the map shows the means
            code, variational = code[0], True
        codes.append(code.float().cpu())
    z = torch.cat(codes)
    if z.ndim != 2 or z.shape[1] != 2:
        return []
    if variational:
        from scipy.stats import norm  # the Gaussian quantile function, as Keras' example uses

        axis = torch.tensor(norm.ppf(np.linspace(0.05, 0.95, MANIFOLD)), dtype=torch.float32)
        axes = (axis, axis)
    else:
        low, high = z.quantile(0.02, dim=0), z.quantile(0.98, dim=0)
        axes = tuple(torch.linspace(float(low[i]), float(high[i]), MANIFOLD) for i in range(2))
    rows, cols = torch.meshgrid(axes[1].flip(0), axes[0], indexing="ij")  # top row: largest z[1]
    grid = torch.stack([cols.flatten(), rows.flatten()], dim=1)
    decoded = torch.sigmoid(decode(grid.to(device)).float()).cpu()
    known = labels[: len(z)].numpy() if labels is not None and labels.ndim == 1 else None
    return [
        Panel(
            "latent_map",
            "Latent map",
            "Test images placed at their codes"
            + (" (posterior means)" if variational else "")
            + ", coloured by class.",
            "scatter",
            z.numpy(),
            labels=known,
            classes=classes,
        ),
        Panel(
            "latent_manifold",
            "Latent manifold",
            f"Images decoded from a {MANIFOLD} x {MANIFOLD} grid over the latent plane"
            + (" (Gaussian quantiles 0.05-0.95 of the prior)" if variational else " (the codes' 2-98% range)")
            + ": neighbouring codes decode to similar digits.",
            "images",
            decoded.clamp(0, 1).numpy(),
            columns=MANIFOLD,
        ),
    ]
