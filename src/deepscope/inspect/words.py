"""What a text model's embedding learned: nearest neighbours of words (cosine similarity) and a
2-D map of the most frequent words (PCA or t-SNE, scikit-learn).

Functions take the model, the embedding layer (None: the model's first ``nn.Embedding`` or
``nn.EmbeddingBag``) and the vocabulary's token list (``Vocabulary.tokens``: index = token
id, frequency order after the two reserved ids) and return plain results; the figure is
``deepscope.plots.word_map_figure``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from deepscope.errors import InvalidArgumentError, UnknownNameError, closest, invalid

__all__ = ["Neighbours", "WordMap", "embedding_weights", "nearest_words", "word_map"]

RESERVED = 2  # ids 0 (padding) and 1 (out-of-vocabulary) are not words


@dataclass
class Neighbours:
    """The ``k`` tokens closest to ``word`` in the embedding, most similar first, with their
    cosine similarities."""

    word: str
    words: list[str]
    similarities: list[float]


@dataclass
class WordMap:
    """2-D coordinates (n, 2) of the ``n`` most frequent words' embeddings. ``scores`` (n, K),
    when computed, are the model's class probabilities for a text made of that word alone
    (``classes`` names the columns)."""

    words: list[str]
    coords: np.ndarray
    method: str
    layer: str
    dims: int
    scores: np.ndarray | None = None
    classes: list[str] | None = None


def embedding_weights(model: nn.Module, layer: str | None = None) -> tuple[str, torch.Tensor]:
    """(name, weight (V, E)) of ``layer`` or of the model's first ``nn.Embedding`` / ``nn.EmbeddingBag``."""
    found = [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Embedding, nn.EmbeddingBag))]
    if layer is not None:
        found = [(n, m) for n, m in found if n == layer]
        if not found:
            names = [n for n, m in model.named_modules() if isinstance(m, (nn.Embedding, nn.EmbeddingBag))]
            raise UnknownNameError("embedding layer", layer, names)
    if not found:
        raise invalid("model", "a model with an nn.Embedding or nn.EmbeddingBag layer", type(model).__name__)
    name, module = found[0]
    return name, module.weight.detach().float().cpu()


def _check_tokens(tokens: Sequence[str], weights: torch.Tensor) -> None:
    if isinstance(tokens, str) or len(tokens) != len(weights):
        raise invalid(
            "tokens",
            f"the vocabulary's token list ({len(weights)} entries, one per embedding row)",
            f"<{len(tokens)} entries>",
        )


@torch.no_grad()
def nearest_words(
    model: nn.Module,
    layer: str | None,
    tokens: Sequence[str],
    words: Sequence[str],
    *,
    k: int = 10,
    include_ngrams: bool = False,
) -> list[Neighbours]:
    """For each of ``words``, the ``k`` vocabulary entries whose embedding rows have the
    highest cosine similarity to its row (itself, padding and OOV excluded; n-grams such as
    'not good' only with ``include_ngrams``)."""
    if isinstance(words, str):
        raise invalid("words", "a list of words (wrap a single word in a list)", words)
    if not isinstance(k, int) or k < 1:
        raise invalid("k", "a positive int", k)
    _, weights = embedding_weights(model, layer)
    _check_tokens(tokens, weights)
    index = {t: i for i, t in enumerate(tokens)}
    candidates = torch.tensor([i >= RESERVED and (include_ngrams or " " not in t) for i, t in enumerate(tokens)])
    unit = F.normalize(weights, dim=1)  # (V, E) rows of length 1 (zero rows stay zero)
    results = []
    for word in words:
        if word not in index or index[word] < RESERVED:
            near = closest(word, [t for t in tokens[RESERVED:] if " " not in t])
            hint = f" Did you mean {' or '.join(map(repr, near))}?" if near else ""
            raise InvalidArgumentError(
                f"`words` must be words of the vocabulary ({len(tokens) - RESERVED} entries). "
                f"Received: {word!r}, which is not in it.{hint}"
            )
        similarity = unit @ unit[index[word]]  # (V,) cosine similarities
        similarity[~candidates] = -2.0
        similarity[index[word]] = -2.0
        top = similarity.topk(min(k, int(candidates.sum()) - 1))
        results.append(Neighbours(word, [tokens[i] for i in top.indices.tolist()], top.values.tolist()))
    return results


@torch.no_grad()
def word_map(
    model: nn.Module,
    layer: str | None,
    tokens: Sequence[str],
    *,
    n: int = 300,
    method: str = "tsne",
    maxlen: int | None = None,
    classes: Sequence[str] | None = None,
    perplexity: float = 30.0,
    seed: int = 0,
) -> WordMap:
    """2-D map of the embeddings of the ``n`` most frequent words (``tokens`` is in frequency
    order after padding and OOV). ``method`` 'pca' projects on the two principal axes;
    'tsne' (t-SNE with PCA start) keeps neighbours together. With ``maxlen``, each word is also
    scored: the model's class probabilities for a text that is only that word."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    if method not in ("pca", "tsne"):
        raise invalid("method", "'pca' or 'tsne'", method)
    if not isinstance(n, int) or n < 5:
        raise invalid("n", "an int >= 5 (words to map)", n)
    name, weights = embedding_weights(model, layer)
    _check_tokens(tokens, weights)
    ids = [i for i in range(RESERVED, len(tokens)) if " " not in tokens[i]][:n]
    if len(ids) < 5:
        raise InvalidArgumentError(f"The vocabulary holds only {len(ids)} words; a word map needs at least 5.")
    vectors = weights[ids].numpy()  # (n, E)
    if method == "pca":
        coords = PCA(n_components=2, random_state=seed).fit_transform(vectors)
    else:
        coords = TSNE(
            n_components=2,
            perplexity=min(perplexity, (len(ids) - 1) / 3),
            init="pca",
            metric="cosine",
            random_state=seed,
        ).fit_transform(vectors)
    scores = None
    if maxlen is not None:
        scores = _single_word_scores(model, ids, maxlen)
    return WordMap(
        words=[tokens[i] for i in ids],
        coords=coords.astype(np.float32),
        method=method,
        layer=name,
        dims=int(vectors.shape[1]),
        scores=scores,
        classes=list(classes) if classes else None,
    )


def _single_word_scores(model: nn.Module, ids: list[int], maxlen: int) -> np.ndarray:
    """(n, K) class probabilities of one-word texts (the word last, padding before it)."""
    x = torch.zeros((len(ids), maxlen), dtype=torch.long)
    x[:, -1] = torch.tensor(ids)  # (n, maxlen)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        probs = torch.cat([F.softmax(model(x[i : i + 256].to(device)), dim=1).cpu() for i in range(0, len(x), 256)])
    finally:
        model.train(was_training)
    return probs.numpy()
