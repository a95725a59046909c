"""Augmentation policies: named perturbations composed with '+', and 'auto'.

A policy is a string such as ``"flip+shift=0.125+erase"``: ops applied in order, each with an
optional strength after '='. ``"auto"`` picks what the data allows (:func:`auto_policy`):
shifts only for single-channel images (a mirrored or upturned 6 is another symbol), flips and
crops for colour photographs, noise and scaling for series (never time reversal), word dropout
for text, nothing where a perturbed input would need another target. The trainer resolves the
policy once per run, prints it and records it in ``config.json``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from deepscope.errors import InvalidArgumentError, UnknownNameError, invalid

if TYPE_CHECKING:
    from deepscope.data.spec import Dataset

__all__ = ["OPS", "Op", "Policy", "auto_policy", "make_augment", "parse_policy", "resolve_policy"]


@dataclass(frozen=True)
class Op:
    """One perturbation: the data kind it applies to, what its strength means, its default
    and valid range, and the function (x, generator, strength) -> x."""

    kind: str
    meaning: str
    default: float
    low: float
    high: float
    apply: Callable[[torch.Tensor, torch.Generator, float], torch.Tensor] | None = None  # None: a mixing op


def _image_ops() -> dict[str, Op]:
    from deepscope.data.augment import image

    def shift(x, g, fraction):
        return image.random_shift(x, g, max(1, round(fraction * min(x.shape[-2:]))))

    return {
        "flip": Op("image", "probability of a left-right mirror", 0.5, 0.0, 1.0, image.random_flip),
        "vflip": Op("image", "probability of an upside-down mirror", 0.5, 0.0, 1.0, lambda x, g, p: image.random_flip(x, g, p, dim=-2)),
        "shift": Op("image", "largest translation, as a fraction of the side (whole pixels, zero fill)", 0.08, 0.0, 0.5, shift),
        "rotate": Op("image", "largest rotation in degrees", 15.0, 0.0, 180.0, lambda x, g, d: image.random_affine(x, g, degrees=d)),
        "scale": Op("image", "largest zoom in or out, as a fraction", 0.1, 0.0, 0.9, lambda x, g, s: image.random_affine(x, g, scale=s)),
        "crop": Op("image", "smallest area a random resized crop keeps", 0.35, 0.05, 1.0, lambda x, g, a: image.random_resized_crop(x, g, min_area=a)),
        "color": Op("image", "largest brightness/contrast/saturation change, as a fraction", 0.4, 0.0, 1.0, image.random_color),
        "erase": Op("image", "probability of blanking one random rectangle", 0.5, 0.0, 1.0, image.random_erase),
        "randaugment": Op("image", "magnitude of torchvision's RandAugment (2 ops), 0-30", 9.0, 0.0, 30.0, lambda x, g, m: image.torchvision_policy(x, g, "randaugment", m)),
        "trivialaugment": Op("image", "unused (TrivialAugmentWide draws its own magnitude)", 0.0, 0.0, 0.0, lambda x, g, _: image.torchvision_policy(x, g, "trivialaugment", 0)),
        "mixup": Op("image", "alpha of MixUp's Beta(alpha, alpha) mixing weight", 0.2, 0.01, 10.0),
        "cutmix": Op("image", "alpha of CutMix's Beta(alpha, alpha) box area", 1.0, 0.01, 10.0),
    }  # fmt: skip


def _series_ops() -> dict[str, Op]:
    from deepscope.data.augment import series

    return {
        "jitter": Op("series", "noise standard deviation, relative to each series'", 0.03, 0.0, 1.0, series.jitter),
        "scaling": Op("series", "standard deviation of the amplitude factor around 1", 0.1, 0.0, 1.0, series.scaling),
        "magnitude-warp": Op("series", "standard deviation of the smooth amplitude curve around 1", 0.2, 0.0, 1.0, series.magnitude_warp),
        "time-warp": Op("series", "standard deviation of the smooth speed curve around 1", 0.2, 0.0, 1.0, series.time_warp),
        "window-slice": Op("series", "fraction of the series a random window keeps", 0.9, 0.1, 1.0, series.window_slice),
    }  # fmt: skip


def _text_ops() -> dict[str, Op]:
    from deepscope.data.augment import text

    return {
        "token-dropout": Op("text", "probability that a word becomes <oov>", 0.1, 0.0, 1.0, text.token_dropout),
        "token-swap": Op("text", "swaps per word (at least one per sequence)", 0.1, 0.0, 1.0, text.token_swap),
    }


OPS: dict[str, Op] = {**_image_ops(), **_series_ops(), **_text_ops()}
MIXING = ("mixup", "cutmix")
ALIASES = {"shift-flip": "shift+flip"}  # the policy names of deepscope 0.x


class Policy:
    """A resolved policy: ``ops`` as (name, strength) pairs, the text asked for, and why
    (for 'auto'). Calling it perturbs a batch: ``policy(x, y, generator) -> (x, target)``,
    where ``target`` is ``y`` or, after MixUp/CutMix, soft labels (N, K). With ``views=2``
    (contrastive pre-training) each sample is perturbed twice, independently, and the views
    come back as consecutive rows: x (2N, ...) = view 1 of sample 0, view 2 of sample 0, ...,
    and ``y`` repeated the same way."""

    def __init__(
        self,
        requested: str,
        ops: list[tuple[str, float]],
        reason: str = "",
        num_classes: int | None = None,
        views: int = 1,
    ):
        self.requested, self.ops, self.reason, self.num_classes = requested, ops, reason, num_classes
        self.views = views
        self._steps = [(OPS[name].apply, value) for name, value in ops if name not in MIXING]
        self._mixing = [(name, value) for name, value in ops if name in MIXING]

    def __bool__(self) -> bool:
        return bool(self.ops)

    def __str__(self) -> str:
        return "+".join(f"{name}={value:g}" for name, value in self.ops) or "none"

    def __repr__(self) -> str:
        return f"Policy({str(self)!r}, requested={self.requested!r})"

    def describe(self) -> dict[str, str]:
        """What run folders record: the policy asked for, what it resolved to, and why."""
        return {
            "requested": self.requested,
            "policy": str(self),
            **({"reason": self.reason} if self.reason else {}),
            **({"views": self.views} if self.views > 1 else {}),
        }

    def __call__(
        self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if self.views == 2:
            first, second = self._perturb(x, generator), self._perturb(x, generator)
            return torch.stack((first, second), dim=1).flatten(0, 1), y.repeat_interleave(2)
        x = self._perturb(x, generator)
        if self._mixing:
            from deepscope.data.augment.mix import mix_batch

            pick = int(torch.randint(len(self._mixing), (1,), generator=generator)) if len(self._mixing) > 1 else 0
            name, alpha = self._mixing[pick]  # with both, one per batch at random (as timm does)
            return mix_batch(x, y, generator, name, alpha, self.num_classes)
        return x, y

    def _perturb(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        for apply, value in self._steps:
            x = apply(x, generator, value)
        return x


def parse_policy(text: str, kind: str) -> list[tuple[str, float]]:
    """``"flip+shift=0.1"`` -> [('flip', 0.5), ('shift', 0.1)], checked against the ops for
    ``kind``."""
    if not isinstance(text, str) or not text.strip():
        raise invalid("augment", "a policy such as 'auto', 'none' or 'flip+shift=0.1'", text)
    text = ALIASES.get(text, text)
    usable = sorted(name for name, op in OPS.items() if op.kind == kind)
    ops = []
    for part in text.split("+"):
        name, has_value, value_text = part.strip().partition("=")
        if name not in OPS:
            raise UnknownNameError("augmentation", name, [*usable, "auto", "none"])
        op = OPS[name]
        if op.kind != kind:
            valid = ", ".join(usable) if usable else "none (only 'none' or 'auto')"
            raise InvalidArgumentError(
                f"`augment` must use ops for {kind} data. Received: augment={text!r} ({name!r} is for {op.kind} "
                f"data). Ops for {kind} data: {valid}."
            )
        value = op.default
        if has_value:
            try:
                value = float(value_text)
            except ValueError:
                value = float("nan")
            if not op.low <= value <= op.high:  # NaN fails too
                raise invalid("augment", f"{name}=<number in [{op.low:g}, {op.high:g}]> ({op.meaning})", part)
        ops.append((name, value))
    names = [name for name, _ in ops]
    if len(set(names)) != len(names):
        raise invalid("augment", "a policy naming each op once", text)
    mixing_at = [i for i, name in enumerate(names) if name in MIXING]
    if mixing_at and any(name not in MIXING for name in names[mixing_at[0] :]):
        raise invalid("augment", "a policy whose mixing ops (mixup, cutmix) come last", text)
    return ops


def auto_policy(data: Dataset) -> tuple[str, str]:
    """The policy 'auto' picks for ``data``, and why: (policy text, reason)."""
    if data.task == "contrastive":
        return _contrastive_policy(data)
    if data.task != "classification":
        return "none", f"{data.task} targets are computed from the inputs: a perturbed input would need another target"
    if data.kind == "image":
        if data.input_shape[0] == 3:
            return "flip+shift=0.125", (
                "colour photographs: left-right flips and crops of up to 1/8 of the side (the CIFAR-10 recipe); "
                "no vertical flips"
            )
        return "shift=0.08", (
            "single-channel images (digits, letters, scans) carry orientation: shifts of up to 8% of the side, "
            "no flips or rotations (a mirrored or upturned 6 is another symbol)"
        )
    if data.kind == "series":
        return "jitter+scaling", "series: small noise and amplitude scaling (Um et al. 2017); time is never reversed"
    if data.kind == "text":
        return "token-dropout=0.1", "text: word dropout (10% of the words become <oov>), the word order kept"
    return "none", f"{data.kind} data: no perturbation is known to keep the targets"


def _contrastive_policy(data: Dataset) -> tuple[str, str]:
    """SimCLR's views (Chen et al. 2020, section 3): strong crops and colour changes for
    photographs; for orientation-bearing single-channel images, crops, small rotations and
    erasing (no flips); for series, noise, scaling and warps; for text, word dropout and swaps."""
    if data.kind == "image" and data.input_shape[0] == 3:
        return "crop=0.2+flip+color=0.8", "contrastive views of colour photographs (SimCLR): crops, flips, colour"
    if data.kind == "image":
        return "crop=0.4+rotate=15+erase", (
            "contrastive views of single-channel images: crops of 40-100% of the area, rotations up to 15 degrees, "
            "a blanked rectangle; no flips (a mirrored 6 is another symbol)"
        )
    if data.kind == "series":
        return (
            "jitter+scaling+magnitude-warp+window-slice",
            "contrastive views of series: noise, scaling, warps, slices",
        )
    if data.kind == "text":
        return "token-dropout=0.2+token-swap", "contrastive views of text: word dropout and swaps"
    return "none", f"{data.kind} data: no perturbation is known to keep the content"


def resolve_policy(requested: str | None, data: Dataset) -> Policy:
    """The policy ``requested`` ('auto', 'none', None or ops joined by '+') for ``data``,
    checked against the data's kind and task."""
    views = 2 if data.task == "contrastive" else 1
    if views == 2 and requested in (None, "none"):
        raise invalid(
            "augment",
            "a policy for contrastive pre-training ('auto' or ops joined by '+'): two views of a sample must differ",
            requested,
        )
    if requested is None or requested == "none":
        return Policy("none", [])
    reason = ""
    text = requested
    if requested == "auto":
        text, reason = auto_policy(data)
        if text == "none":
            if views == 2:
                raise invalid("augment", f"ops joined by '+' ({reason})", requested)
            return Policy("auto", [], reason)
    ops = parse_policy(text, data.kind)
    if any(name in MIXING for name, _ in ops) and (data.task != "classification" or not data.classes):
        raise invalid("augment", "mixup/cutmix only on classification data with classes", requested)
    return Policy(requested, ops, reason, num_classes=len(data.classes) if data.classes else None, views=views)


def make_augment(requested: str | None, data: Dataset) -> Policy | None:
    """The batch augmentation for ``data`` (None when the policy does nothing)."""
    policy = resolve_policy(requested, data)
    return policy if policy else None
