"""The word map figure."""

from __future__ import annotations

import numpy as np
import pytest

from deepscope.errors import InvalidArgumentError
from deepscope.inspect import WordMap
from deepscope.plots import save_figure, word_map_figure


def _result(scores: bool) -> WordMap:
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(12)]
    probs = rng.random((12, 1))
    return WordMap(
        words=words,
        coords=rng.normal(size=(12, 2)).astype(np.float32),
        method="pca",
        layer="embedding",
        dims=8,
        scores=np.hstack([1 - probs, probs]) if scores else None,
        classes=["neg", "pos"] if scores else None,
    )


def test_word_map_figure_writes_the_most_frequent_words_and_a_colour_bar(tmp_path):
    fig = word_map_figure(_result(scores=True), labels=5)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["w0", "w1", "w2", "w3", "w4"]
    assert len(fig.axes) == 2 and "P(pos)" in fig.axes[1].get_ylabel()  # the colour bar
    path = save_figure(fig, tmp_path / "words.png")
    assert path.stat().st_size > 1000


def test_word_map_figure_without_scores_and_bad_labels():
    fig = word_map_figure(_result(scores=False), labels=0)
    assert len(fig.axes) == 1 and not fig.axes[0].texts
    with pytest.raises(InvalidArgumentError, match="`labels` must be"):
        word_map_figure(_result(scores=False), labels=-1)
