"""The word map: a text model's embedding of its most frequent words in 2-D."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from deepscope.errors import invalid
from deepscope.plots.training import new_figure

__all__ = ["word_map_figure"]


def word_map_figure(result: Any, labels: int = 150) -> Figure:
    """Scatter of a ``WordMap`` (from ``deepscope.inspect.word_map``); the ``labels`` most
    frequent words are written beside their points. Points are coloured by the model's
    probability of the last class for the word alone when the map has ``scores`` (red =
    first class, blue = last class), grey otherwise."""
    if not isinstance(labels, int) or labels < 0:
        raise invalid("labels", "an int >= 0 (words to write on the map)", labels)
    coords = np.asarray(result.coords)
    fig = new_figure(9.0, 8.0)
    ax = fig.subplots()
    if result.scores is not None:
        score = np.asarray(result.scores)[:, -1]
        points = ax.scatter(coords[:, 0], coords[:, 1], s=14, c=score, cmap="RdBu", vmin=0.0, vmax=1.0)
        last = result.classes[-1] if result.classes else "the last class"
        fig.colorbar(points, ax=ax, shrink=0.6, label=f"P({last}) for the word alone")
    else:
        ax.scatter(coords[:, 0], coords[:, 1], s=10, color="#777777")
    for word, (x, y) in zip(result.words[:labels], coords[:labels]):
        ax.annotate(word.replace("$", r"\$"), (x, y), fontsize=7, xytext=(2, 2), textcoords="offset points")
    ax.set_xticks([])
    ax.set_yticks([])
    how = "t-SNE (cosine)" if result.method == "tsne" else "PCA"
    ax.set_title(
        f"{how} of the {len(coords)} most frequent words' {result.dims}-d embeddings (layer {result.layer})", fontsize=9
    )
    return fig
