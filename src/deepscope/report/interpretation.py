"""The report's "Interpretation" section for classifiers: most-confused pairs, calibration
(reliability diagram, ECE) and the top losses with an explanation of each.

The explanation method is the first that applies of Grad-CAM (CNNs), integrated gradients
and occlusion (the same default as ``deepscope explain``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from deepscope import explain
from deepscope.data import Dataset

__all__ = ["TOP_LOSSES", "highlighted_top_losses", "interpretation_figures"]

TOP_LOSSES = 12  # images in the top-losses grid; texts and series show the first 3


def interpretation_figures(
    model: torch.nn.Module,
    data: Dataset,
    y_true: Any,
    probs: Any,
    classes: list[str],
    figures_dir: Path,
    *,
    tokens: list[str] | None = None,
    split: str = "test",
    k: int = TOP_LOSSES,
) -> tuple[explain.Interpretation, str, list[tuple[Path, str]]]:
    """(the interpretation, a summary text, [(png, caption)]) for one split of a classifier run;
    the figures are written to ``figures_dir`` as ``interpret_*.png`` (``interpret_val_*.png``
    for the validation split)."""
    from deepscope.plots import attribution_figure, reliability_figure, save_figure, top_losses_figure

    result = explain.interpret(y_true, probs, classes)
    prefix = "interpret" if split == "test" else f"interpret_{split}"  # the report's are the test split's
    figures = [
        (
            save_figure(reliability_figure(result), figures_dir / f"{prefix}_reliability.png"),
            f"Reliability on the {split} split: accuracy per confidence bin against the diagonal of a "
            "calibrated model; the lower panel shows where the predictions fall.",
        )
    ]
    inputs = getattr(data, split).tensors[0]
    if len(inputs) != len(result.y_true) or data.kind not in ("image", "series", "text"):
        return result, result.text(), figures
    method = explain.default_method(model, data.kind)
    shown = k if data.kind == "image" else min(k, 3)
    top = result.top_losses(shown)
    batch = inputs[torch.as_tensor(top)]
    attribution = explain.explain(model, batch, target=torch.as_tensor(result.y_pred[top]), method=method)
    if data.kind == "image":
        fig = top_losses_figure(inputs.numpy(), result, top, attribution)
        figures.append(
            (
                save_figure(fig, figures_dir / f"{prefix}_top_losses.png"),
                f"The {len(top)} {split} images with the highest loss (predicted / true, the prediction's "
                f"probability, the loss), with {method} of the predicted class over each.",
            )
        )
    else:
        for n, i in enumerate(top):
            fig = attribution_figure(attribution, n, classes=classes, tokens=tokens)
            true = classes[int(result.y_true[i])]
            figures.append(
                (
                    save_figure(fig, figures_dir / f"{prefix}_top_loss_{n + 1}.png"),
                    f"Top loss {n + 1}: {split} sample {int(i)}, true class {true}; {method} of the predicted class.",
                )
            )
    return result, result.text() + f"\nExplanations: {method}.", figures


def highlighted_top_losses(
    model: torch.nn.Module, data: Dataset, result: explain.Interpretation, tokens: list[str], k: int = 6
) -> str:
    """The ``k`` test texts with the highest loss as HTML, each token highlighted by its
    attribution to the predicted class (red for, blue against); every word is escaped."""
    import html

    from deepscope.plots import highlighted_text_html, text_tokens

    inputs = data.test.tensors[0]
    top = result.top_losses(k)
    method = explain.default_method(model, "text")
    attribution = explain.explain(
        model, inputs[torch.as_tensor(top)], target=torch.as_tensor(result.y_pred[top]), method=method
    )
    parts = [f"<p>The {len(top)} test texts with the highest loss; tokens coloured by {method} of the prediction.</p>"]
    for n, i in enumerate(top):
        ids = inputs[i].tolist()
        keep = [j for j, t in enumerate(ids) if t != 0]
        words = text_tokens([ids[j] for j in keep], tokens)
        pred, true = int(result.y_pred[i]), int(result.y_true[i])
        head = html.escape(
            f"sample {int(i)}: true {result.classes[true]}, predicted {result.classes[pred]} "
            f"({result.probs[i, pred]:.2f})"
        )
        parts.append(f"<h3>{head}</h3>" + highlighted_text_html(words, attribution.values[n].numpy()[keep]))
    return "\n".join(parts)
