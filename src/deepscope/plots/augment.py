"""An augmentation policy, looked at: originals beside their perturbed versions."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from deepscope.errors import invalid
from deepscope.plots.training import new_figure

__all__ = ["augment_figure", "augment_text"]


def augment_figure(preview: Any) -> Figure:
    """Images: one row per sample, the original then each version (a MixUp/CutMix version is
    titled with its two largest label weights). Series: one panel per sample, the original in
    black under its versions. ``preview`` is what ``deepscope.data.augment.preview`` returns."""
    if preview.kind == "image":
        return _image_grid(preview)
    if preview.kind == "series":
        return _series_panels(preview)
    raise invalid("preview", "a preview of image or series data (text: see augment_text)", preview.kind)


def _label(preview: Any, index: int) -> str:
    if not preview.classes:  # no classes (contrastive or regression data): number the samples
        return f"sample {index + 1}"
    return preview.classes[int(preview.labels[index])]


def _image_grid(preview: Any) -> Figure:
    originals = preview.originals.float().numpy()  # (n, C, H, W)
    versions = preview.augmented.float().numpy()  # (V, n, C, H, W)
    n, v = len(originals), len(versions)
    fig = new_figure(1.3 * (v + 1), 1.35 * n + 0.5)
    fig.suptitle(f"augment: {preview.policy}", fontsize=9)
    axes = fig.subplots(n, v + 1, squeeze=False)
    for i in range(n):
        for j in range(v + 1):
            image = originals[i] if j == 0 else versions[j - 1, i]
            ax = axes[i, j]
            if image.shape[0] == 3:
                ax.imshow(np.clip(image.transpose(1, 2, 0), 0, 1))
            else:
                ax.imshow(image.mean(axis=0), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_title(f"{_label(preview, i)} (original)", fontsize=7)
            elif preview.targets is not None and preview.classes:
                weights = preview.targets[j - 1, i]
                top = weights.argsort(descending=True)[:2]
                ax.set_title(
                    " + ".join(f"{float(weights[k]):.2f} {preview.classes[int(k)]}" for k in top if weights[k] > 0),
                    fontsize=6,
                )
    return fig


def _series_panels(preview: Any) -> Figure:
    originals = preview.originals.float().numpy()  # (n, C, T)
    versions = preview.augmented.float().numpy()  # (V, n, C, T)
    n = len(originals)
    fig = new_figure(7.0, 1.4 * n + 0.5)
    fig.suptitle(f"augment: {preview.policy} (black: original; colours: versions; channel 0)", fontsize=9)
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    for i, ax in enumerate(axes):
        for j in range(len(versions)):
            ax.plot(versions[j, i, 0], linewidth=0.8, alpha=0.8)
        ax.plot(originals[i, 0], color="black", linewidth=1.4)
        ax.set_ylabel(_label(preview, i), fontsize=7)
        ax.tick_params(labelsize=6)
    return fig


def augment_text(preview: Any, tokens: list[str]) -> str:
    """Token previews as text: each original review (its words, padding dropped) followed by
    its versions, for ``deepscope augment`` on text data. ``tokens`` maps ids to words."""

    def words(ids: Any) -> str:
        return " ".join(tokens[i] if 0 <= i < len(tokens) else "<?>" for i in ids.tolist() if i != 0)

    lines = [f"augment: {preview.policy}", ""]
    for i in range(len(preview.originals)):
        lines.append(f"[{_label(preview, i)}] original: {words(preview.originals[i])}")
        for j in range(len(preview.augmented)):
            lines.append(f"  version {j + 1}: {words(preview.augmented[j, i])}")
        lines.append("")
    return "\n".join(lines)
