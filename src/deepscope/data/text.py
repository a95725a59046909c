"""Text datasets: CSV/TSV/JSONL files (``text:PATH``), the aclImdb folder (``imdb:PATH``) and
texts handed over in Python (:func:`from_texts`).

Every loader returns ``kind='text'``: samples are token ids of shape ``(maxlen,)`` (int64,
0 = padding, 1 = out-of-vocabulary), built by a :class:`~deepscope.data.tokenizer.Vocabulary`
of the *training* texts (the validation split is carved from them afterwards; test texts are
never counted). The vocabulary travels with the Dataset in ``data.files['vocab.json']`` and
the trainer writes it into the run folder, so ``deepscope predict RUN "some review"``
tokenizes raw text exactly like the training data.

Text settings ride in the data spec after a ``?``, like a URL query, so a spec alone reloads
the same tensors: ``imdb:~/data/aclImdb?maxlen=80&max_words=20000``. Zoo entries declare the
settings they were designed for (``zoo.info(name).data_options``); ``deepscope train`` adds
them to the spec unless the user gave them.

Tokenizing 50,000 reviews takes a while, so the tokenized corpus (not the vocabulary, which
depends on the settings) is cached as safetensors + JSON under ``$DEEPSCOPE_HOME/text/``,
keyed by the path, the files' sizes and modification times, and the tokenizer version.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import numpy as np
import torch
from torch.utils.data import TensorDataset

from deepscope import limits
from deepscope.atomic import atomic_write
from deepscope.data.catalog import register_dataset
from deepscope.data.download import deepscope_home
from deepscope.data.options import parse_spec_options
from deepscope.data.spec import Dataset, split_train_val
from deepscope.data.tokenizer import TOKENIZER_VERSION, Corpus, Vocabulary
from deepscope.data.wordpiece import ENCODER_FILES, WordPiece
from deepscope.errors import DataError, InvalidArgumentError, UnknownNameError, closest, invalid

__all__ = [
    "TEXT_OPTIONS",
    "decode_utf8",
    "from_texts",
    "load_imdb",
    "load_text",
    "read_labelled_texts",
    "read_text_file",
    "spec_with_options",
    "split_spec_options",
]

TEXT_TEST_FRACTION = 0.2
TEXT_TEST_SEED = 1234  # fixed forever: a single file's test split never depends on user settings
TEXT_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson")
IMDB_CLASSES = ["neg", "pos"]  # label 0 = negative, 1 = positive, as in Keras' imdb

# Settings a text spec may carry after "?", with their defaults (ints: _INT_OPTIONS).
TEXT_OPTIONS: dict[str, Any] = {
    "maxlen": 200,
    "max_words": 20_000,
    "ngrams": 1,
    "max_ngrams": 0,
    "padding": "pre",
    "truncating": "pre",
    "text_column": "text",
    "label_column": "label",
    "tokenizer": "words",  # or a pretrained encoder's WordPiece tokenizer: 'minilm'
}
_INT_OPTIONS = ("maxlen", "max_words", "ngrams", "max_ngrams")
# Label strings that mean "no value", never a class (compared lower-cased).
_NOT_LABELS = frozenset({"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "null"})
_MAX_SUGGEST = 200  # columns searched for a did-you-mean (a hostile header may hold millions)


# ----------------------------------------------------------------------------- reading files
def decode_utf8(data: bytes, path: Path | str, what: str = "text file") -> str:
    """``data`` decoded as UTF-8 (a leading byte-order mark dropped); undecodable bytes raise
    a DataError naming the file, the line and the byte offset."""
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[start:].decode("utf-8")
    except UnicodeDecodeError as error:
        at = start + error.start
        line = data.count(b"\n", 0, at) + 1
        raise DataError(
            f"{what[:1].upper() + what[1:]} {path} is not UTF-8 text (line {line}, byte {at}: "
            f"{data[at : at + 4]!r}); save it as UTF-8."
        ) from None


def read_text_file(path: str | Path, what: str = "text file") -> str:
    """The UTF-8 text of a regular file, at most the text cap (``DEEPSCOPE_MAX_TEXT``, default
    512 MiB). A folder, FIFO or device, a missing file, a file over the cap or bytes that are
    not UTF-8 raise a DataError naming the file. For ``deepscope predict RUN @FILE``."""
    path = Path(path).expanduser()
    return decode_utf8(limits.read_bytes(path, what, limit=limits.current().text), path, what)


# ----------------------------------------------------------------------------- spec options
def split_spec_options(path: Path | str | None) -> tuple[Path | None, dict[str, Any]]:
    """Split ``'reviews.csv?maxlen=80&ngrams=2'`` into the path and its text settings (ints
    parsed, names checked with did-you-mean)."""
    types = {k: int if k in _INT_OPTIONS else str for k in TEXT_OPTIONS}
    return parse_spec_options(path, types, what="text")


def spec_with_options(spec: str, options: Mapping[str, Any]) -> str:
    """``spec`` with ``options`` added after '?' where the spec does not already set them:
    ``spec_with_options('imdb:D', {'maxlen': 80})`` -> ``'imdb:D?maxlen=80'``."""
    if not options:
        return spec
    head, _, query = spec.partition("?")
    given = dict(parse_qsl(query, keep_blank_values=True))
    merged = {**given, **{k: v for k, v in options.items() if k not in given}}
    return f"{head}?{urlencode(merged)}"


# ----------------------------------------------------------------------------- loaders
@register_dataset(
    "text",
    kind="text",
    needs_path=True,
    expects="a CSV/TSV/JSONL file with 'text' and 'label' columns (test split carved with a fixed seed), "
    "or a folder holding train.* and test.* files; settings after '?', e.g. text:reviews.csv?maxlen=100",
    summary="labelled texts from CSV/TSV/JSONL files (tokenized; vocabulary of the training texts)",
)
def _load_text_spec(path: Path | None, *, val_fraction: float = 0.1, seed: int = 0, download: bool = False) -> Dataset:
    path, options = split_spec_options(path)
    return load_text(path, val_fraction=val_fraction, seed=seed, **options)


@register_dataset(
    "imdb",
    kind="text",
    needs_path=True,
    expects="the aclImdb folder (train/pos, train/neg, test/pos, test/neg of <id>_<rating>.txt reviews); "
    "settings after '?', e.g. imdb:aclImdb?maxlen=80",
    summary="IMDB movie reviews, 25,000 train / 25,000 test, positive vs negative (Maas et al. 2011)",
)
def _load_imdb_spec(path: Path | None, *, val_fraction: float = 0.1, seed: int = 0, download: bool = False) -> Dataset:
    path, options = split_spec_options(path)
    for key in ("text_column", "label_column"):
        if key in options:
            raise InvalidArgumentError(f"Option {key!r} applies to text:PATH files, not to the aclImdb folder.")
    return load_imdb(path, val_fraction=val_fraction, seed=seed, **options)


def load_text(
    path: str | Path,
    *,
    text_column: str = "text",
    label_column: str = "label",
    maxlen: int = TEXT_OPTIONS["maxlen"],
    max_words: int = TEXT_OPTIONS["max_words"],
    ngrams: int = 1,
    max_ngrams: int = 0,
    padding: str = "pre",
    truncating: str = "pre",
    tokenizer: str = "words",
    val_fraction: float = 0.1,
    seed: int = 0,
    cache: bool = True,
) -> Dataset:
    """Labelled texts from one CSV/TSV/JSONL file (20% held out as test with a fixed seed,
    stratified) or from a folder holding ``train.<ext>`` and ``test.<ext>``. Labels may be
    names or ints; classes are sorted (numerically when every label is an int)."""
    path = Path(path).expanduser()
    if path.is_dir():
        train_file, test_file = _find_split_file(path, "train"), _find_split_file(path, "test")
        files = [train_file, test_file]
    elif os.path.lexists(path):
        files = [path]
    else:
        raise DataError(
            f"Text data {path} does not exist. Expected a CSV/TSV/JSONL file or a folder holding "
            f"train.* and test.* files."
        )
    for f in files:
        limits.check_regular(f, "text file")  # a FIFO or a device is refused here, before any read
        if f.suffix.lower() not in TEXT_SUFFIXES:
            raise DataError(f"Text file {f} must end in one of {', '.join(TEXT_SUFFIXES)}. Received: {f.name}")

    def read() -> tuple[Corpus, list[str], int]:
        texts, labels, n_train = [], [], 0
        for i, f in enumerate(files):
            t, y = read_labelled_texts(f, text_column, label_column)
            texts += t
            labels += y
            n_train = len(t) if i == 0 else n_train
        return Corpus.from_texts(texts), labels, n_train if len(files) == 2 else len(texts)

    key = {"loader": "text", "files": [_fingerprint(f, [f]) for f in files], "columns": [text_column, label_column]}
    corpus, labels, n_train = _cached_corpus(key, read, cache)
    if len(files) == 2:
        classes = _classes(labels[:n_train], files[0], label_column)
        y = _label_ids(labels, classes, files, n_train, label_column)
        train_docs, test_docs = np.arange(n_train), np.arange(n_train, len(labels))
    else:
        classes = _classes(labels, files[0], label_column)
        y = _label_ids(labels, classes, files, n_train, label_column)
        train_docs, test_docs = _carve(y, TEXT_TEST_FRACTION, TEXT_TEST_SEED, f"Text file {files[0]}")
    settings = dict(
        maxlen=maxlen, max_words=max_words, ngrams=ngrams, max_ngrams=max_ngrams, padding=padding, truncating=truncating
    )
    settings = _tokenizer_settings(settings, tokenizer)
    return _dataset(
        path.stem if path.is_file() else path.name,
        corpus,
        y,
        train_docs,
        test_docs,
        classes,
        settings,
        val_fraction,
        seed,
        source=str(path),
    )


def load_imdb(
    path: str | Path,
    *,
    maxlen: int = TEXT_OPTIONS["maxlen"],
    max_words: int = TEXT_OPTIONS["max_words"],
    ngrams: int = 1,
    max_ngrams: int = 0,
    padding: str = "pre",
    truncating: str = "pre",
    tokenizer: str = "words",
    val_fraction: float = 0.1,
    seed: int = 0,
    cache: bool = True,
) -> Dataset:
    """The aclImdb folder (Maas et al. 2011): ``train/{pos,neg}`` and ``test/{pos,neg}`` hold
    one review per ``<id>_<rating>.txt``; classes ``['neg', 'pos']``. A ``val/{pos,neg}``
    folder (some copies move official training reviews there) is merged back into train.
    ``path`` may also be the folder that contains ``aclImdb/``."""
    path = Path(path).expanduser()
    if not (path / "train").is_dir() and (path / "aclImdb" / "train").is_dir():
        path = path / "aclImdb"
    train_dirs = [path / s / c for s in ("train", "val") for c in IMDB_CLASSES if (path / s).is_dir()]
    test_dirs = [path / "test" / c for c in IMDB_CLASSES]
    for folder in [path / "train" / c for c in IMDB_CLASSES] + test_dirs:
        if not folder.is_dir():
            raise DataError(
                f"The aclImdb folder {path} has no {folder.relative_to(path)}/. Expected train/pos, "
                f"train/neg, test/pos and test/neg, each holding <id>_<rating>.txt reviews."
            )

    def listing(folders: list[Path]) -> list[tuple[Path, int]]:
        """(file, label) of every review, negatives first, each class in id order (val/ merged in)."""
        files = []
        for folder in folders:
            label = IMDB_CLASSES.index(folder.name)
            files += [(label, _review_order(n), folder / n) for n in os.listdir(folder) if n.endswith(".txt")]
        return [(f, label) for label, _, f in sorted(files)]

    train_files, test_files = listing(train_dirs), listing(test_dirs)
    for split, files in (("train", train_files), ("test", test_files)):
        if not files:
            raise DataError(f"The aclImdb folder {path} holds no {split} reviews (*.txt).")

    def read() -> tuple[Corpus, list[int], int]:
        cap, total, texts = limits.current().text, 0, []
        for f, _ in train_files + test_files:
            data = limits.read_bytes(f, "review", limit=cap)
            total += len(data)
            if total > cap:  # the text cap bounds the reviews together, not only each one
                raise DataError(
                    f"The reviews in {path} add up to more than the text cap of {limits.format_bytes(cap)}. "
                    f"If they are real, raise it: DEEPSCOPE_MAX_TEXT=<size>."
                )
            texts.append(data.decode("utf-8", errors="replace"))
        return Corpus.from_texts(texts), [y for _, y in train_files + test_files], len(train_files)

    key = {"loader": "imdb", "files": _fingerprint(path, [f for f, _ in train_files + test_files])}
    corpus, labels, n_train = _cached_corpus(key, read, cache)
    y = np.asarray(labels, dtype=np.int64)
    settings = dict(
        maxlen=maxlen, max_words=max_words, ngrams=ngrams, max_ngrams=max_ngrams, padding=padding, truncating=truncating
    )
    settings = _tokenizer_settings(settings, tokenizer)
    return _dataset(
        "imdb",
        corpus,
        y,
        np.arange(n_train),
        np.arange(n_train, len(y)),
        list(IMDB_CLASSES),
        settings,
        val_fraction,
        seed,
        source=str(path),
    )


def from_texts(
    texts: Sequence[str],
    labels: Sequence[Any],
    test_texts: Sequence[str] | None = None,
    test_labels: Sequence[Any] | None = None,
    *,
    classes: Sequence[str] | None = None,
    name: str = "texts",
    maxlen: int = TEXT_OPTIONS["maxlen"],
    max_words: int = TEXT_OPTIONS["max_words"],
    ngrams: int = 1,
    max_ngrams: int = 0,
    padding: str = "pre",
    truncating: str = "pre",
    tokenizer: str = "words",
    val_fraction: float = 0.1,
    seed: int = 0,
) -> Dataset:
    """A text Dataset from Python lists. ``labels`` are class names or ints (``classes``
    fixes their order); without test texts, 20% is held out with a fixed seed."""
    if isinstance(texts, str) or len(texts) != len(labels):
        raise invalid("texts", f"a list of strings as long as labels ({len(labels)})", type(texts).__name__)
    all_texts, all_labels = list(texts), [_python_label(v, i, "labels") for i, v in enumerate(labels)]
    if test_texts is not None:
        if test_labels is None or len(test_texts) != len(test_labels):
            raise invalid("test_labels", "a list as long as test_texts", test_labels)
        all_texts += list(test_texts)
        all_labels += [_python_label(v, i, "test_labels") for i, v in enumerate(test_labels)]
    n_train = len(texts)
    classes = [str(c) for c in classes] if classes is not None else _sorted_labels(all_labels[:n_train])
    unknown = sorted(set(all_labels) - set(classes))
    if unknown:
        raise DataError(f"Labels {unknown[:5]} are not among classes {classes}.")
    index = {c: i for i, c in enumerate(classes)}
    y = np.asarray([index[v] for v in all_labels], dtype=np.int64)
    if test_texts is None:
        train_docs, test_docs = _carve(y, TEXT_TEST_FRACTION, TEXT_TEST_SEED, "`texts`")
    else:
        train_docs, test_docs = np.arange(n_train), np.arange(n_train, len(y))
    settings = dict(
        maxlen=maxlen, max_words=max_words, ngrams=ngrams, max_ngrams=max_ngrams, padding=padding, truncating=truncating
    )
    settings = _tokenizer_settings(settings, tokenizer)
    return _dataset(
        name,
        Corpus.from_texts(all_texts),
        y,
        train_docs,
        test_docs,
        classes,
        settings,
        val_fraction,
        seed,
        source="python",
    )


# ----------------------------------------------------------------------------- file parsing
def read_labelled_texts(
    path: Path, text_column: str = "text", label_column: str = "label"
) -> tuple[list[str], list[str]]:
    """(texts, labels as strings) from a CSV/TSV (header row) or JSONL (one object per line)
    UTF-8 file, read whole under the text cap (regular files only).

    A text is a string (an empty or missing cell, or JSON null, is the empty text). A label
    is a class name (a non-empty string) or an integer (a JSON number such as 3 or 3.0);
    NaN, infinities, 'null', booleans, other numbers, lists and objects are refused, naming
    the line: they are missing or malformed values, never classes."""
    path = Path(path)
    text = read_text_file(path, "text file")
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        texts, labels = _read_jsonl(text, path, text_column, label_column)
    else:
        texts, labels = _read_csv(text, path, text_column, label_column)
    if not texts:
        raise DataError(f"Text file {path} holds no rows.")
    return texts, labels


def _read_jsonl(text: str, path: Path, text_column: str, label_column: str) -> tuple[list[str], list[str]]:
    texts: list[str] = []
    labels: list[str] = []
    for line_no, line in enumerate(text.split("\n"), start=1):  # only \n ends a JSON line
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(f"{path}, line {line_no}: not valid JSON ({error.msg}).") from None
        except RecursionError:
            raise DataError(f"{path}, line {line_no}: JSON nested too deeply to read.") from None
        except ValueError as error:  # e.g. an integer of more than 4,300 digits
            raise DataError(f"{path}, line {line_no}: not valid JSON ({error}).") from None
        if not isinstance(row, dict):
            raise DataError(f"{path}, line {line_no}: each line must be a JSON object. Received: {line[:60]!r}")
        _check_columns(path, list(row), text_column, label_column, where=f"line {line_no}")
        texts.append(_text_value(row[text_column], path, line_no))
        labels.append(_label_value(row[label_column], path, line_no, label_column))
    return texts, labels


def _read_csv(text: str, path: Path, text_column: str, label_column: str) -> tuple[list[str], list[str]]:
    texts: list[str] = []
    labels: list[str] = []
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
    try:
        if reader.fieldnames is None:
            raise DataError(
                f"Text file {path} is empty; expected a header row with '{text_column}' and '{label_column}' columns."
            )
        reader.fieldnames = [c.strip() for c in reader.fieldnames]
        _check_columns(path, reader.fieldnames, text_column, label_column, where="the header")
        for row in reader:
            line_no = reader.line_num
            texts.append(_text_value(row[text_column], path, line_no))
            labels.append(_label_value(row[label_column], path, line_no, label_column))
    except csv.Error as error:
        raise DataError(f"{path}, line {reader.line_num}: not valid CSV ({error}).") from None
    return texts, labels


def _check_columns(path: Path, columns: list[str], text_column: str, label_column: str, where: str) -> None:
    for arg, wanted in (("text_column", text_column), ("label_column", label_column)):
        if wanted not in columns:
            names = [str(c) for c in columns[:_MAX_SUGGEST]]
            near = closest(wanted, names)
            hint = f" Did you mean {near[0]!r}?" if near else ""
            shown = ", ".join(repr(c[:40]) for c in names[:20]) + (", ..." if len(columns) > 20 else "")
            raise DataError(
                f"Text file {path} has no column {wanted!r} ({where}).{hint} Columns: {shown}. "
                f"Choose the columns with {arg}= (or '?{arg}=NAME' in the data spec)."
            )


def _text_value(value: Any, path: Path, line_no: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise DataError(f"{path}, line {line_no}: the text must be a string. Received: {_short(value)}")
    return value


def _label_value(value: Any, path: Path, line_no: int, column: str) -> str:
    """A label as a class-name string: strings (stripped) and integers are accepted (a float
    such as 3.0 counts as the integer 3); anything else is refused, naming the line."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip() and value.strip().lower() not in _NOT_LABELS:
        return value.strip()
    raise DataError(
        f"{path}, line {line_no}: the {column!r} value must be a class name (a non-empty string) or an integer. "
        f"Received: {_short(value)}"
    )


def _python_label(value: Any, i: int, arg: str) -> str:
    """A label handed over in Python, by the rules of :func:`_label_value` (numpy ints too)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip() and value.strip().lower() not in _NOT_LABELS:
        return value
    raise invalid(f"{arg}[{i}]", "a class name (a non-empty string) or an integer", value)


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return text if len(text) <= 60 else text[:57] + "..."


def _sorted_labels(labels: Sequence[str]) -> list[str]:
    distinct = set(labels)
    if all(re.fullmatch(r"-?[0-9]{1,18}", v) for v in distinct):  # ints (that int() reads fast)
        return sorted(distinct, key=int)
    return sorted(distinct)


def _classes(labels: Sequence[str], path: Path, column: str) -> list[str]:
    classes = _sorted_labels(labels)
    if len(classes) < 2:
        raise DataError(
            f"Text file {path} has only {len(classes)} distinct {column!r} value(s) ({classes}); "
            f"classification needs at least 2."
        )
    return classes


def _label_ids(labels: Sequence[str], classes: list[str], files: list[Path], n_train: int, column: str) -> np.ndarray:
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted({v for v in labels if v not in index})
    if unknown:
        raise DataError(
            f"Text file {files[-1]} has {column!r} values {unknown[:5]} that the training file "
            f"{files[0]} never uses (classes: {classes})."
        )
    return np.asarray([index[v] for v in labels], dtype=np.int64)


def _find_split_file(folder: Path, split: str) -> Path:
    found = sorted(p for p in folder.iterdir() if p.stem == split and p.suffix.lower() in TEXT_SUFFIXES)
    if not found:
        present = sorted(p.name for p in folder.iterdir())[:10]
        raise DataError(
            f"Text folder {folder} has no {split} file: expected {split}.csv, {split}.tsv or "
            f"{split}.jsonl. Found: {present}"
        )
    if len(found) > 1:
        raise DataError(f"Text folder {folder} has several {split} files ({[p.name for p in found]}); keep one.")
    return found[0]


def _review_order(name: str) -> tuple[int, str]:
    """aclImdb files are '<id>_<rating>.txt': order by id, then name."""
    head = name.split("_", 1)[0]
    return (int(head), name) if head.isascii() and head.isdigit() else (1 << 62, name)


# ----------------------------------------------------------------------------- building
def _tokenizer_settings(settings: dict[str, Any], tokenizer: str) -> dict[str, Any]:
    """``settings`` with ``tokenizer`` checked; a WordPiece tokenizer pads after the text (BERT's
    positions count from its first token) and has no n-grams or word cap of its own."""
    if tokenizer != "words" and tokenizer not in ENCODER_FILES:
        raise UnknownNameError("tokenizer", tokenizer, ["words", *ENCODER_FILES])
    if tokenizer == "words":
        return {**settings, "tokenizer": tokenizer}
    if settings["ngrams"] != 1:
        raise invalid(
            "ngrams", f"1 with tokenizer={tokenizer!r} (a WordPiece vocabulary has no n-grams)", settings["ngrams"]
        )
    return {**settings, "padding": "post", "max_words": 0, "max_ngrams": 0, "tokenizer": tokenizer}


def _carve(y: np.ndarray, fraction: float, seed: int, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Stratified (train, test) document indices with a fixed seed."""
    if len(y) - math.ceil(fraction * len(y)) < 1:
        raise DataError(
            f"{source} holds {len(y)} labelled text(s): too few to hold out {fraction:.0%} as a test split "
            f"and keep some to train on. Add rows, or give a folder holding train.* and test.* files."
        )
    idx = torch.arange(len(y))
    train, test = split_train_val(idx, torch.from_numpy(y), val_fraction=fraction, seed=seed)
    return train.tensors[0].numpy(), test.tensors[0].numpy()


def _dataset(
    name: str,
    corpus: Corpus,
    y: np.ndarray,
    train_docs: np.ndarray,
    test_docs: np.ndarray,
    classes: list[str],
    settings: dict[str, Any],
    val_fraction: float,
    seed: int,
    source: str,
) -> Dataset:
    if settings["tokenizer"] == "words":
        vocab = Vocabulary.from_corpus(corpus, train_docs, **{k: v for k, v in settings.items() if k != "tokenizer"})
    else:  # a pretrained encoder's own vocabulary: nothing is learned from the training texts
        vocab = WordPiece.pretrained(
            settings["tokenizer"], maxlen=settings["maxlen"], truncating=settings["truncating"]
        )
    x_train = vocab.encode_corpus(corpus, train_docs)  # (N_train, maxlen) int64
    x_test = vocab.encode_corpus(corpus, test_docs)  # (N_test, maxlen) int64
    y_t = torch.from_numpy(y)
    train, val = split_train_val(x_train, y_t[train_docs], val_fraction=val_fraction, seed=seed)
    lengths = corpus.lengths[train_docs]
    info = {
        "source": source,
        **settings,
        "vocab_size": len(vocab),
        "mean_words": round(float(lengths.mean()), 1) if len(lengths) else 0.0,
        "truncated_fraction": round(float((lengths > settings["maxlen"]).mean()), 4) if len(lengths) else 0.0,
    }
    return Dataset(
        name=name,
        kind="text",
        input_shape=(vocab.maxlen,),
        train=train,
        val=val,
        test=TensorDataset(x_test, y_t[test_docs]),
        classes=list(classes),
        info=info,
        files={"vocab.json": vocab.to_dict()},
    )


# ----------------------------------------------------------------------------- cache
def _fingerprint(root: Path, files: list[Path]) -> dict[str, Any]:
    """What identifies a set of files cheaply: their folder, names, sizes and mtimes (hashed)."""
    digest = hashlib.sha256()
    for f in files:
        st = os.stat(f)
        digest.update(f"{f}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return {"root": str(Path(root).resolve()), "count": len(files), "digest": digest.hexdigest()}


def _cached_corpus(key: dict[str, Any], read, cache: bool) -> tuple[Corpus, list[Any], int]:
    """``read()`` -> (corpus, labels, n_train), or the copy cached under the same key (safetensors
    for the arrays, JSON for words and labels; never pickles). A cached copy is read under the
    caps and checked whole (types, shapes, ids in range); anything amiss is rebuilt, never trusted."""
    from safetensors.numpy import save_file

    if not cache:
        return read()
    key = {**key, "tokenizer": TOKENIZER_VERSION}
    name = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
    folder = deepscope_home() / "text" / name
    arrays_path, meta_path = folder / "corpus.safetensors", folder / "corpus.json"
    cached = _read_cached_corpus(arrays_path, meta_path, key)
    if cached is not None:
        return cached
    corpus, labels, n_train = read()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write(arrays_path, lambda tmp: save_file({"flat": corpus.flat, "lengths": corpus.lengths}, str(tmp)))
        meta = {"key": key, "words": corpus.words, "labels": list(labels), "n_train": n_train}
        atomic_write(meta_path, lambda tmp: tmp.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8"))
    except OSError:  # a read-only cache only costs speed
        pass
    return corpus, labels, n_train


def _read_cached_corpus(
    arrays_path: Path, meta_path: Path, key: dict[str, Any]
) -> tuple[Corpus, list[Any], int] | None:
    """The cached (corpus, labels, n_train) if both files are present, readable under the caps
    and consistent; None otherwise."""
    from safetensors.numpy import load as load_arrays

    if not (os.path.lexists(arrays_path) and os.path.lexists(meta_path)):
        return None
    try:
        meta = json.loads(limits.read_bytes(meta_path, "cache file", limit=limits.current().text))
        if not isinstance(meta, dict) or meta.get("key") != key:
            return None
        arrays = load_arrays(limits.read_bytes(arrays_path, "cache file"))
        words, labels, n_train = meta.get("words"), meta.get("labels"), meta.get("n_train")
        flat, lengths = arrays.get("flat"), arrays.get("lengths")
        ok = (
            isinstance(words, list)
            and all(isinstance(w, str) for w in words)
            and isinstance(labels, list)
            and all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in labels)
            and isinstance(n_train, int)
            and not isinstance(n_train, bool)
            and isinstance(flat, np.ndarray)
            and isinstance(lengths, np.ndarray)
            and flat.dtype == np.int32
            and flat.ndim == 1
            and lengths.dtype == np.int64
            and lengths.ndim == 1
            and len(lengths) == len(labels)
            and 0 <= n_train <= len(labels)
            and (not len(lengths) or int(lengths.min()) >= 0)
            and int(lengths.sum()) == len(flat)
            and (not len(flat) or (int(flat.min()) >= 0 and int(flat.max()) < len(words)))
        )
        return (Corpus(words, flat, lengths), labels, n_train) if ok else None
    except Exception:  # unreadable or damaged (any kind of parse error): rebuilt, never trusted
        return None
