"""Figures of explanations: heatmap overlays (images), attribution along the series (series),
highlighted tokens (text, as a figure and as HTML), and faithfulness curves.

Each function takes results of ``deepscope.explain`` and returns a Figure (Agg, no pyplot),
except :func:`highlighted_text_html`, which returns an HTML fragment with every token escaped.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from deepscope.errors import invalid
from deepscope.explain import Attribution, AuditResult, Faithfulness, Interpretation
from deepscope.plots.training import new_figure

__all__ = [
    "attribution_figure",
    "audit_figure",
    "faithfulness_figure",
    "highlighted_text_html",
    "reliability_figure",
    "series_predictions_figure",
    "text_tokens",
    "top_losses_figure",
]

DIVERGING = "RdBu_r"  # red = evidence for the target, blue = against


def _label(a: Attribution, index: int, classes: Sequence[str] | None) -> str:
    t = int(a.target[index])
    name = classes[t] if classes is not None and t < len(classes) else str(t)
    return f"{name} ({float(a.probabilities[index, t]):.2f})"


def _as_list(attributions: Attribution | Sequence[Attribution]) -> list[Attribution]:
    items = [attributions] if isinstance(attributions, Attribution) else list(attributions)
    if not items or not all(isinstance(a, Attribution) for a in items):
        raise invalid("attributions", "an Attribution or a non-empty list of them", type(attributions).__name__)
    if len({a.kind for a in items}) != 1 or len({tuple(a.inputs.shape) for a in items}) != 1:
        raise invalid("attributions", "attributions of the same inputs", [a.method for a in items])
    return items


def text_tokens(ids: Sequence[int], tokens: Sequence[str]) -> list[str]:
    """The words of token ids (padding dropped is the caller's choice: id 0 gives '')."""
    return [tokens[i] if 0 <= i < len(tokens) else "?" for i in ids]


def attribution_figure(
    attributions: Attribution | Sequence[Attribution],
    index: int = 0,
    *,
    classes: Sequence[str] | None = None,
    tokens: Sequence[str] | None = None,
    max_tokens: int = 60,
) -> Figure:
    """One input explained by one or several methods, side by side.

    Images: the input, then one heatmap per method over the input in grey. Series: each
    channel drawn as a line on a band coloured by its attribution, one row per method. Text:
    the last ``max_tokens`` real tokens, each on a background coloured by sign and strength
    (``tokens`` is the vocabulary list, ``vocab.tokens``)."""
    items = _as_list(attributions)
    if not isinstance(index, int) or not 0 <= index < len(items[0].inputs):
        raise invalid("index", f"an int in 0..{len(items[0].inputs) - 1}", index)
    kind = items[0].kind
    if kind == "image":
        return _image_figure(items, index, classes)
    if kind == "series":
        return _series_figure(items, index, classes)
    if tokens is None:
        raise invalid("tokens", "the vocabulary (vocab.tokens) to draw a text explanation", None)
    return _text_figure(items, index, classes, tokens, max_tokens)


def _displayable(image: np.ndarray, *, rescale: bool = True) -> np.ndarray:
    """One image (C, H, W) as imshow takes it: (H, W) grey or (H, W, 3) colour, min-max scaled
    to [0, 1] (``rescale``) or clipped to it."""
    shown = image[0] if image.shape[0] == 1 else np.moveaxis(image[:3], 0, -1)
    if not rescale:
        return np.clip(shown, 0, 1)
    return (shown - shown.min()) / (np.ptp(shown) or 1.0)


def _symmetric(values: np.ndarray) -> float:
    scale = float(np.abs(values).max())
    return scale if scale > 0 else 1.0


def _image_figure(items: list[Attribution], index: int, classes) -> Figure:
    image = items[0].inputs[index].float().numpy()  # (C, H, W)
    shown = _displayable(image)
    grey = shown if shown.ndim == 2 else shown.mean(axis=-1)
    fig = new_figure(2.2 * (len(items) + 1), 2.6)
    axes = fig.subplots(1, len(items) + 1, squeeze=False)[0]
    axes[0].imshow(shown, cmap="gray" if shown.ndim == 2 else None, vmin=0, vmax=1)
    axes[0].set_title(f"input: {_label(items[0], index, classes)}", fontsize=8)
    for ax, a in zip(axes[1:], items):
        heat = a.heatmap()[index].numpy()
        scale = _symmetric(heat)
        ax.imshow(grey, cmap="gray", vmin=0, vmax=1)
        ax.imshow(heat, cmap=DIVERGING, vmin=-scale, vmax=scale, alpha=0.6)
        ax.set_title(a.method, fontsize=8)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def _series_figure(items: list[Attribution], index: int, classes) -> Figure:
    series = items[0].inputs[index].float().numpy()  # (C, L)
    channels, length = series.shape
    fig = new_figure(7, 1.2 + 1.1 * len(items) * channels)
    axes = fig.subplots(len(items) * channels, 1, squeeze=False)[:, 0]
    for m, a in enumerate(items):
        values = a.values[index].numpy()  # (C, L)
        scale = _symmetric(values)
        for c in range(channels):
            ax = axes[m * channels + c]
            lo, hi = float(series[c].min()), float(series[c].max())
            pad = (hi - lo) * 0.1 or 1.0
            ax.imshow(
                values[c][None],
                cmap=DIVERGING,
                vmin=-scale,
                vmax=scale,
                aspect="auto",
                extent=(-0.5, length - 0.5, lo - pad, hi + pad),
                alpha=0.7,
            )
            ax.plot(np.arange(length), series[c], color="black", linewidth=1)
            ax.set_ylabel(f"{a.method}\nch {c}" if channels > 1 else a.method, fontsize=7)
            ax.tick_params(labelsize=6)
    axes[0].set_title(f"prediction: {_label(items[0], index, classes)}", fontsize=8)
    return fig


def _text_figure(items: list[Attribution], index: int, classes, tokens, max_tokens: int) -> Figure:
    import matplotlib

    ids = items[0].inputs[index].tolist()
    keep = [i for i, t in enumerate(ids) if t != 0][-max_tokens:]
    words = text_tokens([ids[i] for i in keep], tokens)
    per_line = 12
    lines = max(1, -(-len(words) // per_line))
    fig = new_figure(9, 0.5 + len(items) * (0.35 * lines + 0.4))
    ax = fig.add_subplot()
    ax.set_axis_off()
    colormap = matplotlib.colormaps[DIVERGING]
    total = len(items) * (lines + 1)
    row = 0
    for a in items:
        values = a.values[index].numpy()[keep]
        scale = _symmetric(values)
        ax.text(0, 1 - row / total, f"{a.method}:", fontsize=8, weight="bold", va="top", transform=ax.transAxes)
        row += 1
        for k, (word, v) in enumerate(zip(words, values)):
            x = (k % per_line) / per_line
            y = 1 - (row + k // per_line) / total
            color = colormap(0.5 + 0.5 * float(v) / scale)
            ax.text(x, y, word, fontsize=7, va="top", transform=ax.transAxes, bbox={"facecolor": color, "pad": 1.5})
        row += lines
    ax.set_title(f"prediction: {_label(items[0], index, classes)}", fontsize=8)
    return fig


def highlighted_text_html(words: Sequence[str], values: Sequence[float] | np.ndarray) -> str:
    """The words as HTML spans on a red (for the target) / blue (against) background whose
    strength is |value| relative to the largest; each word is escaped and carries its value as
    a title."""
    values = np.asarray(values, dtype=np.float64)
    if len(words) != len(values):
        raise invalid("values", f"one value per word ({len(words)})", f"{len(values)} values")
    scale = _symmetric(values) if len(values) else 1.0
    spans = []
    for word, v in zip(words, values):
        alpha = min(1.0, abs(v) / scale)
        rgb = "214,39,40" if v > 0 else "31,119,180"
        spans.append(
            f'<span title="{v:+.4f}" style="background:rgba({rgb},{alpha:.2f});padding:0 2px;border-radius:2px">'
            f"{html.escape(word)}</span>"
        )
    return '<p class="highlighted-text" style="line-height:1.8">' + " ".join(spans) + "</p>"


def faithfulness_figure(results: Sequence[Faithfulness]) -> Figure:
    """Deletion and insertion curves (mean over inputs) of several methods, with their areas."""
    results = list(results)
    if not results or not all(isinstance(r, Faithfulness) for r in results):
        raise invalid("results", "a non-empty list of Faithfulness", type(results).__name__)
    fig = new_figure(8, 3.2)
    left, right = fig.subplots(1, 2)
    for r in results:
        f = r.fractions.numpy()
        left.plot(f, r.deletion.mean(0).numpy(), label=f"{r.method} ({float(r.deletion_area.mean()):.3f})")
        right.plot(f, r.insertion.mean(0).numpy(), label=f"{r.method} ({float(r.insertion_area.mean()):.3f})")
    left.set_title("deletion (lower area is better)", fontsize=9)
    right.set_title("insertion (higher area is better)", fontsize=9)
    for ax in (left, right):
        ax.set_xlabel("fraction of elements removed / inserted", fontsize=8)
        ax.set_ylabel("probability of the target", fontsize=8)
        ax.set_ylim(-0.02, 1.02)
        ax.legend(fontsize=7)
    return fig


def reliability_figure(interpretation: Interpretation) -> Figure:
    """Reliability diagram: accuracy against mean confidence per bin (bars), the diagonal of a
    perfectly calibrated model, and the share of samples per bin below; ECE in the title."""
    cal = interpretation.calibration()
    centers = (cal.edges[:-1] + cal.edges[1:]) / 2
    width = cal.edges[1] - cal.edges[0]
    fig = new_figure(4.2, 4.6)
    top, bottom = fig.subplots(2, 1, height_ratios=(3, 1), sharex=True)
    filled = cal.counts > 0
    top.bar(centers[filled], cal.accuracy[filled], width=width * 0.9, color="tab:blue", label="accuracy")
    top.bar(
        centers[filled],
        cal.confidence[filled] - cal.accuracy[filled],
        bottom=cal.accuracy[filled],
        width=width * 0.9,
        color="tab:red",
        alpha=0.35,
        label="gap to confidence",
    )
    top.plot([0, 1], [0, 1], color="black", linestyle="--", linewidth=1)
    top.set_ylim(0, 1)
    top.set_ylabel("accuracy", fontsize=8)
    top.set_title(f"reliability (ECE {cal.ece:.3f})", fontsize=9)
    top.legend(fontsize=7, loc="upper left")
    bottom.bar(centers, cal.counts / max(cal.counts.sum(), 1), width=width * 0.9, color="gray")
    bottom.set_xlabel("confidence (max probability)", fontsize=8)
    bottom.set_ylabel("share", fontsize=8)
    bottom.set_xlim(0, 1)
    return fig


def top_losses_figure(
    inputs: np.ndarray,
    interpretation: Interpretation,
    indices: Sequence[int],
    attribution: Attribution | None = None,
) -> Figure:
    """The top-loss images (``inputs[indices]``, (N, C, H, W)), each titled predicted / true /
    probability of the prediction / loss, with the attribution's heatmap over it when given
    (its rows are the same images, in ``indices`` order)."""
    images = np.asarray(inputs)
    cols = min(len(indices), 6)
    rows = max(1, -(-len(indices) // cols))
    fig = new_figure(1.7 * cols, 2.0 * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    losses = interpretation.losses
    for ax in axes:
        ax.set_axis_off()
    for k, i in enumerate(indices):
        image = images[i].astype(np.float64)
        shown = _displayable(image)
        ax = axes[k]
        ax.imshow(shown, cmap="gray" if shown.ndim == 2 else None, vmin=0, vmax=1)
        if attribution is not None:
            heat = attribution.heatmap()[k].numpy()
            scale = _symmetric(heat)
            ax.imshow(heat, cmap=DIVERGING, vmin=-scale, vmax=scale, alpha=0.5)
        pred, true = int(interpretation.y_pred[i]), int(interpretation.y_true[i])
        ax.set_title(
            f"{interpretation.classes[pred]} / {interpretation.classes[true]}\n"
            f"p={interpretation.probs[i, pred]:.2f} loss={losses[i]:.2f}",
            fontsize=7,
            color="tab:red" if pred != true else "black",
        )
    return fig


def audit_figure(result: AuditResult, classes: Sequence[str]) -> Figure:
    """The audit's most telling examples: each clean image with its prediction, then the same
    image with the cue and the attribution heatmap, with the prediction it now gets."""
    ex = result.examples
    if not ex or len(ex.get("inputs", ())) == 0:
        raise invalid("result", "an audit run with a cue (it keeps examples)", result.region)
    n = len(ex["inputs"])
    fig = new_figure(1.6 * n, 3.6)
    axes = fig.subplots(2, n, squeeze=False)
    for k in range(n):
        for row, key in enumerate(("inputs", "cued")):
            image = ex[key][k].float().numpy()
            shown = _displayable(image, rescale=False)
            ax = axes[row, k]
            ax.imshow(shown, cmap="gray" if shown.ndim == 2 else None, vmin=0, vmax=1)
            pred = int(ex["clean_pred" if row == 0 else "cued_pred"][k])
            if row == 1:
                heat = ex["heatmaps"][k].numpy()
                ax.imshow(heat, cmap="Reds", vmin=0, vmax=float(heat.max()) or 1.0, alpha=0.5)
            true = classes[int(ex["labels"][k])]
            title = f"{true}: {classes[pred]}" if row == 0 else f"+{result.cue}: {classes[pred]}"
            ax.set_title(title, fontsize=7, color="tab:red" if classes[pred] != true else "black")
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle(f"The model {result.verdict}", fontsize=9)
    return fig


def series_predictions_figure(
    series: np.ndarray,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    probs: np.ndarray,
    classes: Sequence[str],
    *,
    per_class: int = 3,
) -> Figure:
    """Test series (N, C, L) by true class: one row per class, up to ``per_class`` examples
    (mistakes first), every channel drawn, titled with the prediction and its probability
    (red when wrong)."""
    x = np.asarray(series, dtype=np.float64)
    y_true, y_pred, probs = np.asarray(y_true), np.asarray(y_pred), np.asarray(probs)
    if x.ndim != 3 or len(x) != len(y_true):
        raise invalid("series", "an array (N, C, L) with one label per series", x.shape)
    rows = [c for c in range(len(classes)) if (y_true == c).any()][:12]
    fig = new_figure(2.6 * per_class, 1.5 * max(1, len(rows)))
    axes = fig.subplots(max(1, len(rows)), per_class, squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    for r, c in enumerate(rows):
        members = np.flatnonzero(y_true == c)
        order = members[np.argsort(y_pred[members] == c, kind="stable")][:per_class]  # mistakes first
        for k, i in enumerate(order):
            ax = axes[r, k]
            ax.set_axis_on()
            for channel in x[i]:
                ax.plot(channel, linewidth=0.8)
            wrong = y_pred[i] != c
            ax.set_title(
                f"{classes[c]}: {classes[int(y_pred[i])]} ({probs[i, int(y_pred[i])]:.2f})",
                fontsize=7,
                color="tab:red" if wrong else "black",
            )
            ax.set_xticks([])
            ax.tick_params(labelsize=5)
    return fig
