"""``explain``: one call shape for every attribution method, as in Captum.

    explain(model, inputs, target=None, method="gradcam", layer=None, seed=0) -> Attribution

Inputs are a batch of one kind, told apart by dtype and rank: float (N, C, H, W) images,
float (N, C, L) series, integer (N, L) token ids (text). The gradient, perturbation and
Shapley methods are Captum's; LIME is :mod:`deepscope.explain.lime`.

How each method treats text: the gradient methods (saliency, integrated gradients) attribute
through the model's first ``nn.Embedding`` and sum over the embedding dimensions (one value per
token); the perturbation methods (occlusion, LIME, SHAP) remove tokens (they become padding,
which the zoo's text models skip). Grad-CAM needs a convolutional layer (Conv2d for images,
Conv1d for series and text) and smoothgrad continuous inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from deepscope.errors import UnknownNameError, invalid
from deepscope.explain.features import PAD, feature_mask, segment_fill
from deepscope.explain.lime import lime_weights
from deepscope.inspect.inputs import model_device
from deepscope.inspect.layers import get_layer

__all__ = ["METHODS", "Attribution", "applicable_methods", "default_method", "explain", "input_kind", "predict_probs"]

METHODS = ("gradcam", "saliency", "integrated_gradients", "smoothgrad", "occlusion", "lime", "shap")
KINDS = ("image", "series", "text")


@dataclass(frozen=True)
class Attribution:
    """What ``explain`` returns for a batch of N inputs.

    - ``values``: shaped like the inputs, (N, C, H, W) images, (N, C, L) series, (N, L) text;
      positive = evidence for ``target``. Grad-CAM's map is the same in every channel.
    - ``target``: (N,) the class explained; ``probabilities``: (N, K) the model's softmax.
    - ``inputs``: the inputs explained; ``features``: for LIME/SHAP the feature masks used
      (N, *input_shape), else None; ``fit``: LIME's surrogate R^2 per input, else None.
    """

    values: torch.Tensor
    inputs: torch.Tensor
    target: torch.Tensor
    probabilities: torch.Tensor
    method: str
    kind: str
    layer: str | None = None
    seed: int = 0
    features: torch.Tensor | None = field(default=None, repr=False)
    fit: torch.Tensor | None = None

    def heatmap(self) -> torch.Tensor:
        """One map per input: images (N, H, W) summed over channels, series (N, C, L) and
        text (N, L) as they are."""
        return self.values.sum(dim=1) if self.kind == "image" else self.values

    def __repr__(self) -> str:
        return (
            f"Attribution(method={self.method!r}, kind={self.kind!r}, values={tuple(self.values.shape)}, "
            f"target={self.target.tolist()[:8]}{'...' if len(self.target) > 8 else ''})"
        )


def input_kind(inputs: Any, kind: str | None = None) -> str:
    """'image' | 'series' | 'text', from ``kind`` when given or from the batch's dtype and rank."""
    if not isinstance(inputs, torch.Tensor):
        raise invalid("inputs", "a torch.Tensor batch (N, *input_shape), such as data.test.tensors[0][:8]", inputs)
    if kind is not None and kind not in KINDS:
        raise UnknownNameError("kind", kind, KINDS)
    if len(inputs) == 0:
        raise invalid("inputs", "a non-empty batch", f"0 samples of shape {tuple(inputs.shape[1:])}")
    shape = f"{inputs.dtype} {tuple(inputs.shape)}"
    if inputs.is_floating_point():
        if not torch.isfinite(inputs).all():
            raise invalid("inputs", "finite values", "a batch with NaN or infinity")
        guess = {4: "image", 3: "series"}.get(inputs.ndim)
        if guess is None or (kind is not None and kind != guess):
            raise invalid(
                "inputs",
                "a float batch of images (N, C, H, W) or series (N, C, L), or integer token ids (N, L)"
                + (" (one sample: pass x[None])" if inputs.ndim in (2, 3) and kind == "image" else ""),
                shape,
            )
        return guess
    if inputs.ndim != 2 or inputs.dtype == torch.bool or (kind is not None and kind != "text"):
        raise invalid("inputs", "integer token ids (N, L) for text, or a float batch of images or series", shape)
    if (inputs < 0).any():
        raise invalid("inputs", "token ids >= 0", f"a batch with id {int(inputs.min())}")
    return "text"


def predict_probs(model: nn.Module, inputs: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Softmax probabilities (N, K) of ``model`` on ``inputs``, batched, without gradients."""
    device = model_device(model)
    out = []
    with torch.no_grad():
        for start in range(0, len(inputs), batch_size):
            logits = model(inputs[start : start + batch_size].to(device))
            if logits.ndim != 2:
                raise invalid(
                    "model",
                    "a classifier with outputs (N, classes)",
                    f"a model with outputs {tuple(logits.shape)} (explain takes classifiers)",
                )
            out.append(torch.softmax(logits.float(), dim=1).cpu())
    return torch.cat(out)


def _targets(target: Any, probabilities: torch.Tensor) -> torch.Tensor:
    n, k = probabilities.shape
    if target is None:
        return probabilities.argmax(dim=1)
    t = torch.as_tensor(target)
    if t.ndim == 0:
        t = t.expand(n)
    if t.is_floating_point() or t.dtype == torch.bool or t.shape != (n,) or ((t < 0) | (t >= k)).any():
        raise invalid("target", f"None, a class index in 0..{k - 1}, or one per input ({n})", target)
    return t.to(torch.int64)


def _conv_layers(model: nn.Module, kind: str) -> list[str]:
    types = (nn.Conv2d,) if kind == "image" else (nn.Conv1d,)
    return [name for name, m in model.named_modules() if name and isinstance(m, types)]


def _embedding_layer(model: nn.Module) -> str | None:
    for name, m in model.named_modules():
        if isinstance(m, nn.Embedding):
            return name
    return None


def applicable_methods(model: nn.Module, kind: str) -> list[str]:
    """The methods of ``METHODS`` that apply to ``model`` on inputs of ``kind``."""
    out = []
    for method in METHODS:
        if method == "gradcam" and not _conv_layers(model, kind):
            continue
        if kind == "text" and method == "smoothgrad":
            continue
        if kind == "text" and method in ("saliency", "integrated_gradients") and _embedding_layer(model) is None:
            continue
        out.append(method)
    return out


def default_method(model: nn.Module, kind: str) -> str:
    """The method explain/interpret/audit use unless told: Grad-CAM where the model has a
    convolution, else integrated gradients, else occlusion (which applies to every model)."""
    applicable = applicable_methods(model, kind)
    return next(m for m in ("gradcam", "integrated_gradients", "occlusion") if m in applicable)


def _why_not(model: nn.Module, kind: str, method: str) -> str:
    if method == "gradcam":
        conv = "Conv2d" if kind == "image" else "Conv1d"
        return f"Grad-CAM needs a {conv} layer and this model has none"
    if method == "smoothgrad":
        return "smoothgrad adds noise to the inputs, which token ids cannot take"
    return (
        "the gradient methods read text through an nn.Embedding and this model has none (an EmbeddingBag pools it away)"
    )


def explain(
    model: nn.Module,
    inputs: torch.Tensor,
    target: int | torch.Tensor | None = None,
    method: str = "gradcam",
    layer: str | None = None,
    seed: int = 0,
    *,
    kind: str | None = None,
    n_samples: int | None = None,
    n_segments: int | None = None,
    segmentation: str = "slic",
    window: int | None = None,
    batch_size: int = 256,
    features: torch.Tensor | None = None,
) -> Attribution:
    """Attribute ``model``'s prediction for each input to its elements.

    ``target``: the class to explain (None: the predicted one), one int or one per input.
    ``layer``: Grad-CAM's layer (default: the last convolution); for text the embedding the
    gradient methods read (default: the first ``nn.Embedding``). ``seed`` fixes every random
    draw (smoothgrad's noise, LIME's and SHAP's samples): the same seed gives the same values.
    ``n_samples``: LIME/SHAP perturbations (1000 / 200), smoothgrad draws (25), integrated
    gradients steps (50). ``n_segments``/``segmentation``: LIME/SHAP features (superpixels,
    windows per channel); ``window``: occlusion's patch or window size. ``features``: your own
    LIME/SHAP features instead (as ``lime``'s ``segmentation_fn``): integer ids >= 0 (-1: never
    switched off) shaped like one input, like the batch, or (H, W) for images.
    """
    if not isinstance(model, nn.Module):
        raise invalid("model", "a torch.nn.Module", type(model).__name__)
    if method not in METHODS:
        raise UnknownNameError("method", method, METHODS)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise invalid("seed", "an int >= 0", seed)
    if n_samples is not None and (not isinstance(n_samples, int) or not 1 <= n_samples <= 100_000):
        raise invalid("n_samples", "an int between 1 and 100000", n_samples)
    if not isinstance(batch_size, int) or batch_size < 1:
        raise invalid("batch_size", "an int >= 1", batch_size)
    kind = input_kind(inputs, kind)
    if features is not None:
        features = _check_features(features, inputs, kind, method)
    if method not in applicable_methods(model, kind):
        raise invalid(
            "method",
            f"one of {', '.join(applicable_methods(model, kind))} for this {kind} model ({_why_not(model, kind, method)})",
            method,
        )
    device = model_device(model)
    was_training = model.training
    model.eval()
    try:
        inputs = inputs.detach().cpu()
        probabilities = predict_probs(model, inputs, batch_size)
        targets = _targets(target, probabilities)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            values, used_layer, features, fit = _attribute(
                model,
                inputs,
                targets,
                method,
                kind,
                layer,
                seed,
                device,
                n_samples=n_samples,
                n_segments=n_segments,
                segmentation=segmentation,
                window=window,
                batch_size=batch_size,
                features=features,
            )
    finally:
        model.train(was_training)
    return Attribution(
        values=values.detach().float().cpu(),
        inputs=inputs,
        target=targets,
        probabilities=probabilities,
        method=method,
        kind=kind,
        layer=used_layer,
        seed=seed,
        features=features,
        fit=fit,
    )


def _attribute(model, inputs, targets, method, kind, layer, seed, device, **options):
    """(values, layer used, feature masks or None, LIME fit or None)."""
    import captum.attr as ca  # Captum: imported on use (it is heavy)

    batch_size = options["batch_size"]
    x = inputs.to(device)
    if x.is_floating_point():
        x = x.clone().requires_grad_(True)  # the gradient methods differentiate with respect to it
    t = targets.to(device)
    if method == "gradcam":
        name = layer if layer is not None else _conv_layers(model, kind)[-1]
        module = get_layer(model, name)
        if not isinstance(module, (nn.Conv2d, nn.Conv1d)):
            raise invalid("layer", "a Conv2d/Conv1d layer for Grad-CAM", f"{name} ({type(module).__name__})")
        maps = ca.LayerGradCam(model, module).attribute(x, target=t, relu_attributions=True)  # (N, 1, h[, w])
        size = inputs.shape[2:] if kind != "text" else inputs.shape[1:]
        mode = "bilinear" if kind == "image" else "linear"
        maps = torch.nn.functional.interpolate(maps.float(), size=tuple(size), mode=mode, align_corners=False)
        values = maps[:, 0] if kind == "text" else maps.expand(-1, inputs.shape[1], *([-1] * (inputs.ndim - 2)))
        return values, name, None, None
    if kind == "text" and method in ("saliency", "integrated_gradients"):
        name = layer if layer is not None else _embedding_layer(model)
        module = get_layer(model, name)
        if method == "saliency":  # |d score / d embedding|, L2 over the embedding dimensions
            grads = ca.LayerGradientXActivation(model, module, multiply_by_inputs=False).attribute(x, target=t)
            return grads.norm(dim=-1) * (x != PAD), name, None, None
        steps = options["n_samples"] or 50
        ig = ca.LayerIntegratedGradients(model, module)
        values = ig.attribute(
            x, baselines=torch.full_like(x, PAD), target=t, n_steps=steps, internal_batch_size=batch_size
        )
        return values.sum(dim=-1) * (x != PAD), name, None, None
    if method == "saliency":
        return ca.Saliency(model).attribute(x, target=t, abs=True), None, None, None
    if method == "integrated_gradients":
        steps = options["n_samples"] or 50
        ig = ca.IntegratedGradients(model)
        return ig.attribute(x, baselines=0.0, target=t, n_steps=steps, internal_batch_size=batch_size), None, None, None
    if method == "smoothgrad":
        spread = float(inputs.max() - inputs.min()) or 1.0
        tunnel = ca.NoiseTunnel(ca.Saliency(model))
        draws = options["n_samples"] or 25
        values = tunnel.attribute(
            x, nt_type="smoothgrad", nt_samples=draws, nt_samples_batch_size=batch_size, stdevs=0.15 * spread, target=t
        )
        return values.abs(), None, None, None
    if method == "occlusion":
        return _occlusion(model, inputs, targets, kind, device, options["window"], batch_size), None, None, None
    return _perturbation(model, inputs, targets, method, kind, seed, device, options)


def _occlusion(model, inputs, targets, kind, device, window, batch_size) -> torch.Tensor:
    """Captum's Occlusion: the drop in the target's score when a patch (images), a window of one
    channel (series) or a run of tokens (text) is replaced by zeros / padding."""
    import captum.attr as ca

    length = inputs.shape[-1]
    if window is None:
        window = max(1, -(-length // 7)) if kind == "image" else max(1, length // 16) if kind == "series" else 1
    if not isinstance(window, int) or not 1 <= window <= length:
        raise invalid("window", f"an int between 1 and {length}", window)
    stride = max(1, window // 2)
    # Captum sends perturbations_per_eval copies of the whole batch per call: cap the inputs per call
    per_eval = max(1, perturbation_batch(batch_size, inputs[0]) // len(inputs))
    if kind == "text":
        forward = _PresenceForward(model, inputs.to(device))
        presence = torch.ones(inputs.shape, dtype=torch.float32, device=device)
        occ = ca.Occlusion(forward)
        return occ.attribute(
            presence,
            sliding_window_shapes=(window,),
            strides=(stride,),
            baselines=0.0,
            target=targets.to(device),
            perturbations_per_eval=per_eval,
        ) * (inputs.to(device) != PAD)
    occ = ca.Occlusion(model)
    shape = (inputs.shape[1], window, window) if kind == "image" else (1, window)
    strides = (inputs.shape[1], stride, stride) if kind == "image" else (1, stride)
    return occ.attribute(
        inputs.to(device),
        sliding_window_shapes=shape,
        strides=strides,
        baselines=0.0,
        target=targets.to(device),
        perturbations_per_eval=per_eval,
    )


class _PresenceForward:
    """Text as on/off tokens: a float presence batch (B, L) -> the model's logits on the ids
    with absent tokens turned into padding. ``ids`` (N, L); Captum evaluates k perturbed
    copies of the batch at once, stacked as (k * N, L)."""

    def __init__(self, model: nn.Module, ids: torch.Tensor):
        self.model, self.ids = model, ids

    def __call__(self, presence: torch.Tensor) -> torch.Tensor:
        ids = self.ids.repeat(presence.shape[0] // self.ids.shape[0], 1)  # Captum stacks whole batches
        return self.model(torch.where(presence > 0.5, ids, torch.full_like(ids, PAD)))


# Perturbation methods send at most this many input values to the model per call: on a CPU,
# a forward pass over 256 perturbed 224x224 photos is no cheaper per image than over 16 and
# its activations (hundreds of MB) fall out of cache, while 28x28 digits still go 256 at a time.
PERTURBED_VALUES = 2**21


def perturbation_batch(batch_size: int, sample: torch.Tensor) -> int:
    """How many perturbed copies of ``sample`` go to the model at once: ``batch_size``, capped
    at :data:`PERTURBED_VALUES` input values (224x224 RGB: 13; 28x28: the whole batch_size)."""
    return max(1, min(batch_size, PERTURBED_VALUES // max(1, sample.numel())))


def _for_model(batch: torch.Tensor, kind: str, device: torch.device) -> torch.Tensor:
    """A perturbed batch as the model reads it fastest: images channels-last (NHWC), which
    oneDNN's CPU convolutions run faster than NCHW; the values are the same."""
    batch = batch.to(device)
    return batch.contiguous(memory_format=torch.channels_last) if kind == "image" else batch


def _check_features(features: Any, inputs: torch.Tensor, kind: str, method: str) -> torch.Tensor:
    """User-given LIME/SHAP features -> int64 (N, *input_shape)."""
    if method not in ("lime", "shap"):
        raise invalid("features", "None for this method (only lime and shap take feature masks)", method)
    sample_shape = tuple(inputs.shape[1:])
    shapes = [sample_shape, tuple(inputs.shape)] + ([sample_shape[1:]] if kind == "image" else [])
    if (
        not isinstance(features, torch.Tensor)
        or features.is_floating_point()
        or features.is_complex()
        or tuple(features.shape) not in shapes
        or bool((features < -1).any())
    ):
        described = tuple(features.shape) if isinstance(features, torch.Tensor) else type(features).__name__
        raise invalid("features", f"an integer tensor of ids >= -1 shaped {' or '.join(map(str, shapes))}", described)
    features = features.to(torch.int64)
    if features.ndim == len(sample_shape) - 1:  # (H, W): the same superpixels in every channel
        features = features.unsqueeze(0).expand(sample_shape)
    return features.expand(inputs.shape) if features.ndim == len(sample_shape) else features


def _perturbation(model, inputs, targets, method, kind, seed, device, options):
    """LIME and KernelSHAP, one input at a time, over the same interpretable features."""
    import captum.attr as ca

    masks, values, fits = [], [], []

    def probs(batch: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return torch.softmax(model(_for_model(batch, kind, device)).float(), dim=1).cpu()

    batch_size = perturbation_batch(options["batch_size"], inputs[0])
    for i, sample in enumerate(inputs):
        if options["features"] is not None:
            mask = options["features"][i]
        else:
            mask = feature_mask(sample, kind, n_segments=options["n_segments"], segmentation=options["segmentation"])
        fill = segment_fill(sample, mask, kind)
        target = int(targets[i])
        if int(mask.max()) < 0:  # an empty text: nothing to attribute
            masks.append(mask)
            values.append(torch.zeros(sample.shape))
            fits.append(float("nan"))
            continue
        if method == "lime":
            v, r2 = lime_weights(
                probs,
                sample,
                mask,
                fill,
                target,
                n_samples=options["n_samples"] or 1000,
                batch_size=batch_size,
                seed=seed + i,
            )
            fits.append(r2)
        else:  # KernelSHAP (Lundberg & Lee 2017) from Captum, on the same features
            on = torch.ones((1, *sample.shape), dtype=torch.float32)
            ids = mask.clamp_min(0)[None]
            keep = (mask < 0)[None]

            def forward(presence, sample=sample, fill=fill, keep=keep):
                present = (presence > 0.5) | keep
                batch = torch.where(present, sample.unsqueeze(0), fill.unsqueeze(0))
                return torch.softmax(model(_for_model(batch, kind, device)).float(), dim=1)

            shap = ca.KernelShap(forward)
            torch.manual_seed(seed + i)
            v = shap.attribute(
                on,
                baselines=0.0,
                target=target,
                feature_mask=ids,
                n_samples=options["n_samples"] or 200,
                perturbations_per_eval=batch_size,
            )[0]
            v = torch.where(mask < 0, torch.zeros(()), v.cpu())
        masks.append(mask)
        values.append(v)
    fit = torch.tensor(fits, dtype=torch.float32) if method == "lime" else None
    return torch.stack(values), None, torch.stack(masks), fit
