"""The shortcut audit: does a model rely on a region or a cue instead of the object?

Two kinds of evidence, over a set of test images:

- **behaviour** (when the cue is known): add the cue to the images of every other class and
  count how many of those the model got right and now calls the cue's class (*flips*); and
  compare the cue class's recall on clean images and with the cue. A model that learned the
  cue follows it.
- **attention**: the share of the attribution mass (|values|, default method: Grad-CAM for
  CNNs) that falls inside the region, on the images with the cue added when it is known,
  against the region's share of the image area.

Verdict: *relies on the region* when at least 20% of the other-class images flip, or when the
cue class's recall is at least 30 points higher with the cue than without it (the class is
recognised by its cue), or when the attribution share inside the region is at least twice
its area share and at least 25%.
Otherwise *does not rely*. Both numbers are printed, so the verdict can be checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from deepscope.data import CUES, add_cue, cue_region
from deepscope.errors import invalid
from deepscope.explain.attribution import default_method, explain, predict_probs

__all__ = ["FLIP_THRESHOLD", "RATIO_THRESHOLD", "RECALL_GAP", "SHARE_THRESHOLD", "AuditResult", "audit"]

FLIP_THRESHOLD = 0.20
RECALL_GAP = 0.30
RATIO_THRESHOLD = 2.0
SHARE_THRESHOLD = 0.25


@dataclass(frozen=True)
class AuditResult:
    """What :func:`audit` measured; ``relies`` is the verdict and ``reasons`` why."""

    region: str
    samples: int
    method: str
    attribution_share: float
    area_share: float
    accuracy: float
    relies: bool
    reasons: list[str]
    cue: str | None = None
    cue_class: str | None = None
    accuracy_with_cue: float | None = None
    flip_rate: float | None = None
    flips: int | None = None
    cue_class_recall: float | None = None
    cue_class_recall_with_cue: float | None = None
    examples: dict = field(default_factory=dict, repr=False)  # inputs, cued, heatmaps, labels, predictions

    @property
    def verdict(self) -> str:
        return f"relies on the {self.region}" if self.relies else f"does not rely on the {self.region}"

    def text(self) -> str:
        lines = [f"Verdict: the model {self.verdict} ({self.samples} test images)."]
        lines += [f"  {reason}" for reason in self.reasons]
        lines.append(f"  accuracy on clean images {self.accuracy:.4f}")
        if self.flip_rate is not None:
            lines.append(
                f"  with the {self.cue} cue on the other classes: accuracy {self.accuracy_with_cue:.4f}; "
                f"{self.flips} images ({100 * self.flip_rate:.1f}% of those right before) now called {self.cue_class}"
            )
            lines.append(
                f"  recall of {self.cue_class}: {self.cue_class_recall:.4f} clean, "
                f"{self.cue_class_recall_with_cue:.4f} with the cue"
            )
        lines.append(
            f"  {self.method} attribution inside the {self.region}: {100 * self.attribution_share:.1f}% "
            f"of the mass on {100 * self.area_share:.1f}% of the area"
        )
        return "\n".join(lines)

    def to_dict(self) -> dict:
        keys = (
            "region",
            "samples",
            "method",
            "attribution_share",
            "area_share",
            "accuracy",
            "relies",
            "reasons",
            "cue",
            "cue_class",
            "accuracy_with_cue",
            "flip_rate",
            "flips",
            "cue_class_recall",
            "cue_class_recall_with_cue",
        )
        return {k: getattr(self, k) for k in keys}

    def _repr_html_(self) -> str:
        import html

        colour = "#c0392b" if self.relies else "#1e8449"
        body = "<br>".join(html.escape(line) for line in self.text().splitlines())
        return f'<div style="border-left:4px solid {colour};padding:4px 8px">{body}</div>'


def _region_masks(region, images: torch.Tensor) -> tuple[str, torch.Tensor]:
    """(name, bool masks (N, H, W)) for a region name or a (H, W) bool mask."""
    n, c, h, w = images.shape
    if isinstance(region, torch.Tensor):
        if region.shape != (h, w) or region.dtype != torch.bool or not region.any():
            raise invalid("region", f"a non-empty bool mask ({h}, {w})", f"{region.dtype} {tuple(region.shape)}")
        return "masked region", region.expand(n, h, w)
    if region not in CUES:
        raise invalid("region", f"one of {', '.join(CUES)} or a bool mask (H, W)", region)
    mask = cue_region(region, (c, h, w), images)
    return region, mask.expand(n, h, w) if mask.ndim == 2 else mask


def audit(
    model: nn.Module,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    classes: list[str],
    *,
    region: str | torch.Tensor | None = None,
    cue: str | None = None,
    cue_class: int | None = None,
    strength: float = 1.0,
    method: str | None = None,
    examples: int = 6,
    batch_size: int = 256,
) -> AuditResult:
    """Audit ``model`` on clean test ``inputs`` (N, C, H, W) with ``labels`` (N,).

    ``cue``/``cue_class``: the suspected cue (one of ``CUES``) and the class it may stand for;
    with them the behaviour test runs. ``region``: where to measure attribution (a cue name or
    a bool mask (H, W)); default: the cue's region."""
    if not isinstance(inputs, torch.Tensor) or inputs.ndim != 4 or not inputs.is_floating_point():
        raise invalid("inputs", "a float batch of images (N, C, H, W)", getattr(inputs, "shape", inputs))
    if not isinstance(labels, torch.Tensor) or labels.shape != (len(inputs),):
        raise invalid("labels", f"a tensor of {len(inputs)} class indices", getattr(labels, "shape", labels))
    if cue is not None and cue not in CUES:
        raise invalid("cue", f"one of {', '.join(CUES)}", cue)
    if (cue is None) != (cue_class is None):
        raise invalid("cue_class", "given together with cue (the class the cue may stand for)", cue_class)
    if cue_class is not None and not 0 <= cue_class < len(classes):
        raise invalid("cue_class", f"a class index in 0..{len(classes) - 1}", cue_class)
    region = region if region is not None else cue
    if region is None:
        raise invalid("region", "a region to measure (border, corner, background, tint or a mask) or a cue", None)
    if method is None:
        method = default_method(model, "image")
    labels = labels.to(torch.int64)
    was_training = model.training
    model.eval()
    try:
        clean_pred = predict_probs(model, inputs, batch_size).argmax(1)
        accuracy = float((clean_pred == labels).float().mean())
        cued = add_cue(inputs, cue, strength) if cue is not None else inputs
        region_name, masks = _region_masks(region, inputs)
        attribution = explain(model, cued, method=method, batch_size=batch_size)
        mass = attribution.heatmap().abs()  # (N, H, W)
        total = mass.sum(dim=(1, 2)).clamp_min(1e-12)
        share = float(((mass * masks).sum(dim=(1, 2)) / total).mean())
        area = float(masks.float().mean())
        reasons = []
        relies = False
        result = {}
        if cue is not None:
            others = labels != cue_class
            swapped = inputs.clone()
            swapped[others] = cued[others]
            swapped_pred = predict_probs(model, swapped, batch_size).argmax(1)
            right_before = others & (clean_pred == labels)
            flipped = right_before & (swapped_pred == cue_class)
            flip_rate = float(flipped.sum() / right_before.sum().clamp_min(1))
            own = labels == cue_class
            cued_pred = predict_probs(model, cued[own], batch_size).argmax(1) if own.any() else clean_pred[own]
            result = {
                "cue": cue,
                "cue_class": classes[cue_class],
                "accuracy_with_cue": float((swapped_pred == labels).float().mean()),
                "flip_rate": flip_rate,
                "flips": int(flipped.sum()),
                "cue_class_recall": float((clean_pred[own] == cue_class).float().mean()) if own.any() else float("nan"),
                "cue_class_recall_with_cue": float((cued_pred == cue_class).float().mean())
                if own.any()
                else float("nan"),
            }
            if flip_rate >= FLIP_THRESHOLD:
                relies = True
                reasons.append(
                    f"adding the {cue} cue turns {100 * flip_rate:.1f}% of the other classes' correctly "
                    f"classified images into {classes[cue_class]} (threshold {100 * FLIP_THRESHOLD:.0f}%)"
                )
            else:
                reasons.append(
                    f"adding the {cue} cue turns only {100 * flip_rate:.1f}% of the other classes' images into "
                    f"{classes[cue_class]} (threshold {100 * FLIP_THRESHOLD:.0f}%)"
                )
            gap = result["cue_class_recall_with_cue"] - result["cue_class_recall"]
            if gap >= RECALL_GAP:
                relies = True
                reasons.append(
                    f"{classes[cue_class]} is recognised by its cue: recall {result['cue_class_recall']:.2f} on clean "
                    f"images, {result['cue_class_recall_with_cue']:.2f} with the cue (threshold: "
                    f"{100 * RECALL_GAP:.0f} points)"
                )
            telling = torch.nonzero(flipped).flatten()
            if len(telling) < examples:  # fill with the other-class images the cue moved most
                rest = torch.nonzero(others & ~flipped).flatten()
                telling = torch.cat([telling, rest])
            pick = telling[:examples]
            result["examples"] = {
                "inputs": inputs[pick],
                "cued": cued[pick],
                "heatmaps": mass[pick],
                "labels": labels[pick],
                "clean_pred": clean_pred[pick],
                "cued_pred": swapped_pred[pick],
            }
        if share >= max(SHARE_THRESHOLD, RATIO_THRESHOLD * area) and region_name != "tint":
            relies = True
            reasons.append(
                f"{100 * share:.1f}% of the {method} attribution falls in the {region_name}, which covers "
                f"{100 * area:.1f}% of the image (threshold: {RATIO_THRESHOLD:.0f}x the area and "
                f"{100 * SHARE_THRESHOLD:.0f}%)"
            )
    finally:
        model.train(was_training)
    return AuditResult(
        region=region_name,
        samples=len(inputs),
        method=method,
        attribution_share=share,
        area_share=area,
        accuracy=accuracy,
        relies=relies,
        reasons=reasons,
        **result,
    )
