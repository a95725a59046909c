"""Embedding view: nearest neighbours (cosine) and the 2-D map of frequent words."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from deepscope.errors import InvalidArgumentError, UnknownNameError
from deepscope.inspect import embedding_weights, nearest_words, word_map

TOKENS = ["<pad>", "<oov>", "good", "great", "bad", "awful", "film", "not good"]


class _Bag(nn.Module):
    """A fastText-like model with hand-set embeddings: 'good'~'great', 'bad'~'awful'."""

    def __init__(self):
        super().__init__()
        self.embedding = nn.EmbeddingBag(len(TOKENS), 3, mode="mean", padding_idx=0)
        with torch.no_grad():
            self.embedding.weight.copy_(
                torch.tensor(
                    [
                        [0.0, 0.0, 0.0],
                        [0.1, 0.1, 0.1],
                        [1.0, 0.1, 0.0],
                        [0.9, 0.2, 0.0],  # good, great
                        [-1.0, 0.0, 0.1],
                        [-0.8, 0.0, 0.3],  # bad, awful
                        [0.0, 0.0, 1.0],
                        [1.0, 0.12, 0.0],  # film, 'not good' (an n-gram)
                    ]
                )
            )
        self.head = nn.Linear(3, 2)
        with torch.no_grad():
            self.head.weight.copy_(torch.tensor([[-3.0, 0.0, 0.0], [3.0, 0.0, 0.0]]))
            self.head.bias.zero_()

    def forward(self, ids):
        return self.head(self.embedding(ids))


def test_nearest_words_rank_by_cosine_similarity():
    model = _Bag()
    good, bad = nearest_words(model, None, TOKENS, ["good", "bad"], k=3)
    assert good.words == ["great", "film", "awful"]
    w = model.embedding.weight.detach()
    expected = torch.nn.functional.cosine_similarity(w[2], w[3], dim=0).item()
    assert good.similarities[0] == pytest.approx(expected, abs=1e-6)
    assert bad.words[0] == "awful" and good.similarities == sorted(good.similarities, reverse=True)


def test_nearest_words_include_ngrams_only_when_asked():
    model = _Bag()
    assert "not good" not in nearest_words(model, None, TOKENS, ["good"], k=6)[0].words
    assert nearest_words(model, "embedding", TOKENS, ["good"], k=1, include_ngrams=True)[0].words == ["not good"]


def test_unknown_word_suggests_and_wrong_vocabulary_is_refused():
    model = _Bag()
    with pytest.raises(InvalidArgumentError, match="Received: 'gret', which is not in it. Did you mean 'great'"):
        nearest_words(model, None, TOKENS, ["gret"])
    with pytest.raises(InvalidArgumentError, match="`words` must be"):
        nearest_words(model, None, TOKENS, ["<pad>"])
    with pytest.raises(InvalidArgumentError, match="`tokens` must be the vocabulary's token list"):
        nearest_words(model, None, TOKENS[:-1], ["good"])
    with pytest.raises(UnknownNameError, match="Did you mean 'embedding'"):
        embedding_weights(model, "embeding")


def test_word_map_pca_of_frequent_words_with_single_word_scores():
    model = _Bag()
    result = word_map(model, None, TOKENS, n=5, method="pca", maxlen=4, classes=["neg", "pos"])
    assert result.words == ["good", "great", "bad", "awful", "film"]  # n-grams and reserved ids left out
    assert result.coords.shape == (5, 2) and result.layer == "embedding" and result.dims == 3
    # PCA's first axis separates the positive and the negative words
    assert np.sign(result.coords[0, 0]) == np.sign(result.coords[1, 0]) != np.sign(result.coords[2, 0])
    assert result.scores.shape == (5, 2)
    assert result.scores[0, 1] > 0.9 and result.scores[2, 1] < 0.1  # P(pos | "good") high, P(pos | "bad") low
    assert np.allclose(result.scores.sum(axis=1), 1.0)


def test_word_map_tsne_and_bad_method():
    rng = torch.Generator().manual_seed(0)
    tokens = ["<pad>", "<oov>", *(f"w{i}" for i in range(30))]
    model = nn.Sequential(nn.Embedding(len(tokens), 8))
    with torch.no_grad():
        model[0].weight.copy_(torch.randn(len(tokens), 8, generator=rng))
    result = word_map(model, "0", tokens, n=20, method="tsne")
    assert result.coords.shape == (20, 2) and result.words[0] == "w0" and result.scores is None
    with pytest.raises(InvalidArgumentError, match="`method` must be 'pca' or 'tsne'"):
        word_map(model, None, tokens, method="umap")
