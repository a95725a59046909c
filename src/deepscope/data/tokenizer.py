"""Text to token ids: tokenize, a frequency-ranked vocabulary (optionally with n-grams), and
padding/truncation to a fixed length.

The path is split in two so that loading 50,000 reviews stays fast:

* :class:`Corpus` holds tokenized documents as ids into the list of every word seen (a
  ragged array: ``flat`` ids and per-document ``lengths``). Tokenizing is the slow part, so
  loaders cache corpora (see ``deepscope.data.text``).
* :class:`Vocabulary` keeps the ``max_words`` most frequent words of the *training* documents
  (plus, for fastText, the ``max_ngrams`` most frequent n-grams) and turns a corpus or raw
  strings into a padded ``(N, maxlen)`` matrix of ids, vectorised with numpy. Index 0 is
  padding and index 1 stands for every out-of-vocabulary word. It saves to and loads from
  JSON, so a run folder can tokenize new raw text exactly like its training data.

Padding and truncation default to Keras' ``pad_sequences``: 'pre' (zeros go in front and long
texts lose their beginning, so the last words — often the verdict of a review — are kept and
sit next to the final state of a recurrent layer).

Keras' ``Tokenizer`` and torchtext do this job, but neither is a dependency here (Keras would
pull in a second framework, torchtext is retired); the whole job is a regex and a few numpy
calls.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deepscope import limits
from deepscope.atomic import write_text
from deepscope.errors import DataError, InvalidArgumentError, invalid

__all__ = ["OOV", "OOV_TOKEN", "PAD", "PAD_TOKEN", "Corpus", "Vocabulary", "tokenize"]

TOKENIZER_VERSION = 1  # bump when tokenize() changes: it keys the corpus caches
PAD, OOV = 0, 1
PAD_TOKEN, OOV_TOKEN = "<pad>", "<oov>"  # tokenize() never yields '<', so these cannot clash
VOCAB_FORMAT = 1
MAX_NGRAMS_N = 4

_LINE_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_HTML_TAG = re.compile(r"</?[a-zA-Z][^<>]{0,200}>")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")  # letters/digits, apostrophes inside words ("don't")


def tokenize(text: str) -> list[str]:
    """Lower-cased words of ``text``. ``<br />`` and other HTML tags become spaces, punctuation
    is dropped, apostrophes inside a word are kept: ``"Don't!<br />Great."`` ->
    ``["don't", "great"]``."""
    if not isinstance(text, str):
        raise invalid("text", "a string", text)
    text = _HTML_TAG.sub(" ", _LINE_BREAK.sub(" ", text.lower()))
    return _WORD.findall(text)


@dataclass
class Corpus:
    """Tokenized documents as a ragged array: document ``i`` is ``words[flat[start_i:start_i +
    lengths[i]]]``. ``words`` lists every distinct word seen, in order of first appearance."""

    words: list[str]
    flat: np.ndarray  # (total_tokens,) int32 ids into words
    lengths: np.ndarray  # (N,) int64 tokens per document

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Corpus:
        """Tokenize every text (see :func:`tokenize`)."""
        return cls.from_tokens(tokenize(t) for t in texts)

    @classmethod
    def from_tokens(cls, token_lists: Iterable[Sequence[str]]) -> Corpus:
        """A corpus of already tokenized documents."""
        index: dict[str, int] = {}
        ids: list[int] = []
        lengths: list[int] = []
        for tokens in token_lists:
            ids.extend(index.setdefault(t, len(index)) for t in tokens)
            lengths.append(len(tokens))
        return cls(list(index), np.asarray(ids, dtype=np.int32), np.asarray(lengths, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.lengths)

    @property
    def starts(self) -> np.ndarray:
        """(N,) offset of each document in ``flat``."""
        return np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64) if len(self) else self.lengths

    def select(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The ragged ids ``(flat, lengths)`` of documents ``docs`` (an index array), in that order."""
        docs = np.asarray(docs, dtype=np.int64)
        lengths = self.lengths[docs]
        starts = np.repeat(self.starts[docs] - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
        positions = np.arange(int(lengths.sum()), dtype=np.int64) + starts  # (tokens,)
        return self.flat[positions], lengths


@dataclass
class Vocabulary:
    """Token strings by id: ``tokens[0]`` is ``'<pad>'``, ``tokens[1]`` is ``'<oov>'``, then the
    ``num_words`` most frequent training words (most frequent first, ties alphabetical), then
    n-grams such as ``'not good'`` when ``ngrams > 1``. ``len(vocab)`` is the embedding size a
    model needs. ``maxlen``/``padding``/``truncating`` fix the encoded shape ``(N, maxlen)``."""

    tokens: list[str]
    num_words: int
    maxlen: int
    ngrams: int = 1
    padding: str = "pre"
    truncating: str = "pre"
    _index: dict[str, int] = field(init=False, repr=False, compare=False)
    _codes: np.ndarray = field(init=False, repr=False, compare=False)  # sorted n-gram codes
    _code_ids: np.ndarray = field(init=False, repr=False, compare=False)  # their token ids

    def __post_init__(self) -> None:
        _check_settings(self.maxlen, self.ngrams, self.padding, self.truncating)
        if self.tokens[:2] != [PAD_TOKEN, OOV_TOKEN] or not 0 <= self.num_words <= len(self.tokens) - 2:
            raise DataError("A vocabulary must start with '<pad>', '<oov>' and hold num_words words.")
        self._index = {t: i for i, t in enumerate(self.tokens[: 2 + self.num_words])}
        del self._index[PAD_TOKEN]
        ngram_tokens = self.tokens[2 + self.num_words :]
        if ngram_tokens:
            parts = [t.split(" ") for t in ngram_tokens]
            unknown = next((t for t, p in zip(ngram_tokens, parts) if any(w not in self._index for w in p)), None)
            if unknown is not None or any(not 2 <= len(p) <= self.ngrams for p in parts):
                raise DataError(f"Vocabulary n-gram {unknown or ngram_tokens[0]!r} is not made of its words.")
            codes = np.asarray([_code([self._index[w] for w in p], self.base) for p in parts], dtype=np.int64)
            order = np.argsort(codes)
            self._codes = codes[order]
            self._code_ids = (np.arange(len(codes), dtype=np.int64) + 2 + self.num_words)[order]
        else:
            self._codes = self._code_ids = np.zeros(0, dtype=np.int64)

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, texts: Sequence[str], **settings: Any) -> Vocabulary:
        """A vocabulary of the training ``texts`` (see :meth:`from_corpus` for the settings)."""
        return cls.from_corpus(Corpus.from_texts(texts), **settings)

    @classmethod
    def from_corpus(
        cls,
        corpus: Corpus,
        docs: np.ndarray | None = None,
        *,
        max_words: int = 20_000,
        maxlen: int = 200,
        ngrams: int = 1,
        max_ngrams: int = 0,
        padding: str = "pre",
        truncating: str = "pre",
    ) -> Vocabulary:
        """Count words (and n-grams of 2..``ngrams`` words, over the vocabulary's ids, OOV
        included, as Keras' imdb_fasttext does) in documents ``docs`` of ``corpus`` (all when
        None) — pass the training documents only — and keep the ``max_words`` most frequent
        words and the ``max_ngrams`` most frequent n-grams."""
        _check_settings(maxlen, ngrams, padding, truncating)
        if not isinstance(max_words, int) or max_words < 1:
            raise invalid("max_words", "a positive int", max_words)
        if not isinstance(max_ngrams, int) or max_ngrams < 0:
            raise invalid("max_ngrams", "an int >= 0", max_ngrams)
        docs = np.arange(len(corpus)) if docs is None else np.asarray(docs)
        flat, lengths = corpus.select(docs)
        counts = np.bincount(flat, minlength=len(corpus.words))
        seen = np.flatnonzero(counts)
        # most frequent first, ties broken alphabetically, so the result never depends on order
        ranked = sorted(seen.tolist(), key=lambda i: (-counts[i], corpus.words[i]))[:max_words]
        tokens = [PAD_TOKEN, OOV_TOKEN, *(corpus.words[i] for i in ranked)]
        vocab = cls(tokens, len(ranked), maxlen, ngrams, padding, truncating)
        if ngrams > 1 and max_ngrams > 0:
            ids = vocab._lookup(corpus.words)[flat]  # (tokens,) vocabulary ids
            codes = np.concatenate([_ngram_codes(ids, lengths, n, vocab.base)[0] for n in range(2, ngrams + 1)])
            unique, freq = np.unique(codes, return_counts=True)
            top = unique[np.lexsort((unique, -freq))[:max_ngrams]]  # most frequent first, ties by code
            names = [" ".join(tokens[i] for i in _decode(int(c), vocab.base)) for c in top]
            vocab = cls(tokens + names, len(ranked), maxlen, ngrams, padding, truncating)
        return vocab

    # ------------------------------------------------------------------ encoding
    @property
    def base(self) -> int:
        """The radix of n-gram codes (the number of unigram ids, reserved ones included)."""
        return self.num_words + 2

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        """Raw strings -> token ids (N, maxlen) int64, tokenized as the training data was."""
        if isinstance(texts, str):
            raise invalid("texts", "a list of strings (wrap a single text in a list)", texts)
        return self.encode_corpus(Corpus.from_texts(texts))

    def encode_corpus(self, corpus: Corpus, docs: np.ndarray | None = None) -> torch.Tensor:
        """Documents ``docs`` (all when None) of ``corpus`` -> token ids (N, maxlen) int64."""
        docs = np.arange(len(corpus)) if docs is None else np.asarray(docs)
        flat, lengths = corpus.select(docs)
        return torch.from_numpy(self._encode_ragged(self._lookup(corpus.words)[flat], lengths))

    def decode(self, ids: Sequence[int] | torch.Tensor) -> str:
        """Token ids of one sample -> the tokens joined by spaces (padding dropped)."""
        values = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        return " ".join(self.tokens[i] for i in values if i != PAD)

    def _lookup(self, words: Sequence[str]) -> np.ndarray:
        """(len(words),) vocabulary id of each word; OOV for words outside the vocabulary."""
        return np.asarray([self._index.get(w, OOV) for w in words], dtype=np.int64)

    def _encode_ragged(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Append each document's known n-grams after its words (bigrams, then trigrams, each
        in reading order), then pad/truncate: (N, maxlen)."""
        n_docs = len(lengths)
        doc = np.repeat(np.arange(n_docs), lengths)  # (tokens,) document of each token
        place = np.arange(len(ids)) - np.repeat(np.cumsum(lengths) - lengths, lengths)  # index within its document
        parts_doc, parts_place, parts_id = [doc], [place], [ids]
        total = lengths.astype(np.int64).copy()  # (N,) tokens per document so far
        for n in range(2, self.ngrams + 1):
            if not len(self._codes):
                break
            codes, (gram_doc, _) = _ngram_codes(ids, lengths, n, self.base, with_place=True)  # in reading order
            where = np.minimum(np.searchsorted(self._codes, codes), len(self._codes) - 1)
            known = self._codes[where] == codes
            gram_doc = gram_doc[known]
            count = np.bincount(gram_doc, minlength=n_docs)
            rank = np.arange(len(gram_doc)) - np.repeat(np.cumsum(count) - count, count)  # index among its doc's
            parts_doc.append(gram_doc)
            parts_place.append(total[gram_doc] + rank)
            parts_id.append(self._code_ids[where[known]])
            total += count
        limits.check_allocation(n_docs * self.maxlen * 8, f"Token ids of {n_docs} text(s) at maxlen={self.maxlen}")
        doc, place, all_ids = np.concatenate(parts_doc), np.concatenate(parts_place), np.concatenate(parts_id)
        if self.truncating == "pre":  # keep the last maxlen tokens
            place = place - np.maximum(total - self.maxlen, 0)[doc]
        keep = (place >= 0) & (place < self.maxlen)
        if self.padding == "pre":
            place = place + (self.maxlen - np.minimum(total, self.maxlen))[doc]
        out = np.zeros((n_docs, self.maxlen), dtype=np.int64)
        out[doc[keep], place[keep]] = all_ids[keep]
        return out

    # ------------------------------------------------------------------ saving
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": VOCAB_FORMAT,
            "tokenizer": TOKENIZER_VERSION,
            "maxlen": self.maxlen,
            "ngrams": self.ngrams,
            "padding": self.padding,
            "truncating": self.truncating,
            "num_words": self.num_words,
            "tokens": self.tokens,
        }

    @classmethod
    def from_dict(cls, saved: dict[str, Any], where: str = "vocabulary") -> Vocabulary:
        """A vocabulary from :meth:`to_dict`'s output, every field checked (types, ranges,
        distinct tokens): a damaged or hand-edited file fails here, naming the field. A
        pretrained encoder's WordPiece vocabulary (``"kind": "wordpiece"``) comes back as a
        :class:`~deepscope.data.wordpiece.WordPiece`, which offers the same encoding methods."""
        if isinstance(saved, dict) and saved.get("kind") == "wordpiece":
            from deepscope.data.wordpiece import WordPiece

            return WordPiece.from_dict(saved, where)  # type: ignore[return-value]
        if not isinstance(saved, dict) or saved.get("format") != VOCAB_FORMAT or "tokens" not in saved:
            raise DataError(f"{where} is not a deepscope vocabulary (format {VOCAB_FORMAT}).")
        if saved.get("tokenizer") != TOKENIZER_VERSION:
            raise DataError(
                f"{where} was written by tokenizer version {saved.get('tokenizer')!r}; this deepscope "
                f"tokenizes with version {TOKENIZER_VERSION}."
            )

        def bad(name: str, expected: str) -> DataError:
            shown = repr(saved.get(name))
            return DataError(
                f"{where}: `{name}` must be {expected}. Received: {name}={shown[:60]}{'...' if len(shown) > 60 else ''}"
            )

        tokens = saved["tokens"]
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise bad("tokens", "a list of strings")
        if tokens[:2] != [PAD_TOKEN, OOV_TOKEN]:
            raise bad("tokens", f"a list that must start with {PAD_TOKEN!r}, {OOV_TOKEN!r}")
        if len(set(tokens)) != len(tokens):
            raise bad("tokens", "distinct strings")
        for name, low in (("num_words", 0), ("maxlen", 1), ("ngrams", 1)):
            value = saved.get(name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise bad(name, f"an int >= {low}")
        if saved["num_words"] > len(tokens) - 2:
            raise bad("num_words", f"at most the number of tokens less 2 ({len(tokens) - 2})")
        if saved["ngrams"] > MAX_NGRAMS_N:
            raise bad("ngrams", f"an int from 1 to {MAX_NGRAMS_N}")
        for name in ("padding", "truncating"):
            if saved.get(name) not in ("pre", "post"):
                raise bad(name, "'pre' or 'post'")
        try:
            return cls(
                tokens, saved["num_words"], saved["maxlen"], saved["ngrams"], saved["padding"], saved["truncating"]
            )
        except DataError as error:
            raise DataError(f"{where}: {error}") from None
        except InvalidArgumentError as error:  # n-gram codes too large for this many words
            raise DataError(f"{where} cannot be used: {error}") from None

    def save(self, path: str | Path) -> Path:
        """Write the vocabulary as JSON (atomically: a temporary file, then a rename)."""
        path = Path(path)
        write_text(path, json.dumps(self.to_dict(), ensure_ascii=False))
        return path

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        """Read a vocabulary JSON file (a regular file, at most the text cap), checked whole."""
        path = Path(path)
        data = limits.read_bytes(path, "vocabulary file", limit=limits.current().text)
        try:
            saved = json.loads(data.decode("utf-8"))
        except (ValueError, RecursionError) as error:  # bad JSON, bad UTF-8, nesting too deep
            raise DataError(f"Vocabulary file {path} is damaged (not valid JSON: {error}).") from None
        return cls.from_dict(saved, where=f"Vocabulary file {path}")


def _check_settings(maxlen: Any, ngrams: Any, padding: Any, truncating: Any) -> None:
    if not isinstance(maxlen, int) or isinstance(maxlen, bool) or maxlen < 1:
        raise invalid("maxlen", "a positive int", maxlen)
    if not isinstance(ngrams, int) or not 1 <= ngrams <= MAX_NGRAMS_N:
        raise invalid("ngrams", f"an int from 1 (words only) to {MAX_NGRAMS_N}", ngrams)
    if padding not in ("pre", "post"):
        raise invalid("padding", "'pre' or 'post'", padding)
    if truncating not in ("pre", "post"):
        raise invalid("truncating", "'pre' or 'post' ('middle' is for a WordPiece tokenizer=minilm)", truncating)


def _code(ids: Sequence[int], base: int) -> int:
    """One int64 per n-gram: its ids as digits in ``base``, offset so that n-grams of
    different lengths never share a code."""
    value = sum(base**m for m in range(2, len(ids)))
    for k, i in enumerate(ids):
        value += i * base ** (len(ids) - 1 - k)
    if value >= 2**62:
        raise invalid("max_words", f"small enough for {len(ids)}-gram codes to fit in 64 bits", base - 2)
    return value


def _decode(code: int, base: int) -> list[int]:
    n = 2
    while code >= base**n:
        code -= base**n
        n += 1
    return [(code // base ** (n - 1 - k)) % base for k in range(n)]


def _ngram_codes(ids: np.ndarray, lengths: np.ndarray, n: int, base: int, with_place: bool = False):
    """Codes of every n-gram inside each document of a ragged array (never across two
    documents); with ``with_place``, also each n-gram's (document, start position)."""
    if base**n + sum(base**m for m in range(2, n)) >= 2**62:
        raise invalid("max_words", f"small enough for {n}-gram codes to fit in 64 bits", base - 2)
    doc = np.repeat(np.arange(len(lengths)), lengths)
    pos = np.arange(len(ids)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    start = np.flatnonzero(pos <= lengths[doc] - n)  # (grams,) positions where an n-gram starts
    codes = np.full(len(start), sum(base**m for m in range(2, n)), dtype=np.int64)
    for k in range(n):
        codes += ids[start + k].astype(np.int64) * base ** (n - 1 - k)
    return (codes, (doc[start], pos[start])) if with_place else (codes, None)
