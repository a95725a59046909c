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

import csv
import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import numpy as np
import torch
from torch.utils.data import TensorDataset

from deepscope.atomic import atomic_write
from deepscope.data.catalog import register_dataset
from deepscope.data.download import deepscope_home
from deepscope.data.options import parse_spec_options
from deepscope.data.spec import Dataset, split_train_val
from deepscope.data.tokenizer import TOKENIZER_VERSION, Corpus, Vocabulary
from deepscope.errors import DataError, InvalidArgumentError, closest, invalid

__all__ = ["TEXT_OPTIONS", "from_texts", "load_imdb", "load_text", "spec_with_options", "split_spec_options"]

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
}
_INT_OPTIONS = ("maxlen", "max_words", "ngrams", "max_ngrams")


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
    elif path.is_file():
        files = [path]
    else:
        raise DataError(
            f"Text data {path} does not exist. Expected a CSV/TSV/JSONL file or a folder holding "
            f"train.* and test.* files."
        )
    for f in files:
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
        train_docs, test_docs = _carve(y, TEXT_TEST_FRACTION, TEXT_TEST_SEED)
    settings = dict(
        maxlen=maxlen, max_words=max_words, ngrams=ngrams, max_ngrams=max_ngrams, padding=padding, truncating=truncating
    )
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
        texts = [f.read_text(encoding="utf-8", errors="replace") for f, _ in train_files + test_files]
        return Corpus.from_texts(texts), [y for _, y in train_files + test_files], len(train_files)

    key = {"loader": "imdb", "files": _fingerprint(path, [f for f, _ in train_files + test_files])}
    corpus, labels, n_train = _cached_corpus(key, read, cache)
    y = np.asarray(labels, dtype=np.int64)
    settings = dict(
        maxlen=maxlen, max_words=max_words, ngrams=ngrams, max_ngrams=max_ngrams, padding=padding, truncating=truncating
    )
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
    val_fraction: float = 0.1,
    seed: int = 0,
) -> Dataset:
    """A text Dataset from Python lists. ``labels`` are class names or ints (``classes``
    fixes their order); without test texts, 20% is held out with a fixed seed."""
    if isinstance(texts, str) or len(texts) != len(labels):
        raise invalid("texts", f"a list of strings as long as labels ({len(labels)})", type(texts).__name__)
    all_texts, all_labels = list(texts), [str(v) for v in labels]
    if test_texts is not None:
        if test_labels is None or len(test_texts) != len(test_labels):
            raise invalid("test_labels", "a list as long as test_texts", test_labels)
        all_texts += list(test_texts)
        all_labels += [str(v) for v in test_labels]
    n_train = len(texts)
    classes = [str(c) for c in classes] if classes is not None else _sorted_labels(all_labels[:n_train])
    unknown = sorted(set(all_labels) - set(classes))
    if unknown:
        raise DataError(f"Labels {unknown[:5]} are not among classes {classes}.")
    index = {c: i for i, c in enumerate(classes)}
    y = np.asarray([index[v] for v in all_labels], dtype=np.int64)
    if test_texts is None:
        train_docs, test_docs = _carve(y, TEXT_TEST_FRACTION, TEXT_TEST_SEED)
    else:
        train_docs, test_docs = np.arange(n_train), np.arange(n_train, len(y))
    settings = dict(
        maxlen=maxlen, max_words=max_words, ngrams=ngrams, max_ngrams=max_ngrams, padding=padding, truncating=truncating
    )
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
    """(texts, labels as strings) from a CSV/TSV (header row) or JSONL (one object per line) file, UTF-8."""
    try:
        return _read_labelled_texts(Path(path), text_column, label_column)
    except UnicodeDecodeError as error:
        raise DataError(
            f"Text file {path} is not UTF-8 text (byte {error.start}: {error.reason}); save it as UTF-8."
        ) from None


def _read_labelled_texts(path: Path, text_column: str, label_column: str) -> tuple[list[str], list[str]]:
    suffix = path.suffix.lower()
    texts: list[str] = []
    labels: list[str] = []
    if suffix in (".jsonl", ".ndjson"):
        with open(path, encoding="utf-8") as handle:
            for line_no, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as error:
                    raise DataError(f"{path}, line {line_no}: not valid JSON ({error.msg}).") from None
                if not isinstance(row, dict):
                    raise DataError(f"{path}, line {line_no}: each line must be a JSON object. Received: {line[:60]!r}")
                _check_columns(path, list(row), text_column, label_column, where=f"line {line_no}")
                texts.append(_text_value(row[text_column], path, line_no))
                labels.append(_label_value(row[label_column], path, line_no, label_column))
    else:
        delimiter = "\t" if suffix == ".tsv" else ","
        with open(path, encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle, delimiter=delimiter)
            if reader.fieldnames is None:
                raise DataError(
                    f"Text file {path} is empty; expected a header row with '{text_column}' and "
                    f"'{label_column}' columns."
                )
            _check_columns(path, [c.strip() for c in reader.fieldnames], text_column, label_column, where="the header")
            reader.fieldnames = [c.strip() for c in reader.fieldnames]
            try:
                for row in reader:
                    line_no = reader.line_num
                    texts.append(_text_value(row[text_column], path, line_no))
                    labels.append(_label_value(row[label_column], path, line_no, label_column))
            except csv.Error as error:
                raise DataError(f"{path}, line {reader.line_num}: not valid CSV ({error}).") from None
    if not texts:
        raise DataError(f"Text file {path} holds no rows.")
    return texts, labels


def _check_columns(path: Path, columns: list[str], text_column: str, label_column: str, where: str) -> None:
    for arg, wanted in (("text_column", text_column), ("label_column", label_column)):
        if wanted not in columns:
            near = closest(wanted, columns)
            hint = f" Did you mean {near[0]!r}?" if near else ""
            raise DataError(
                f"Text file {path} has no column {wanted!r} ({where}).{hint} Columns: "
                f"{', '.join(map(repr, columns))}. Choose the columns with {arg}= "
                f"(or '?{arg}=NAME' in the data spec)."
            )


def _text_value(value: Any, path: Path, line_no: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise DataError(f"{path}, line {line_no}: the text must be a string. Received: {value!r}")
    return value


def _label_value(value: Any, path: Path, line_no: int, column: str) -> str:
    if value is None or (isinstance(value, str) and not value.strip()) or isinstance(value, (list, dict)):
        raise DataError(
            f"{path}, line {line_no}: the {column!r} value must be a class name or int. Received: {value!r}"
        )
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _sorted_labels(labels: Sequence[str]) -> list[str]:
    distinct = set(labels)
    if all(re.fullmatch(r"-?\d+", v) for v in distinct):
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
    return (int(head), name) if head.isdigit() else (1 << 62, name)


# ----------------------------------------------------------------------------- building
def _carve(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified (train, test) document indices with a fixed seed."""
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
    vocab = Vocabulary.from_corpus(corpus, train_docs, **settings)
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
    for the arrays, JSON for words and labels; never pickles)."""
    from safetensors.numpy import load_file, save_file

    if not cache:
        return read()
    key = {**key, "tokenizer": TOKENIZER_VERSION}
    name = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
    folder = deepscope_home() / "text" / name
    arrays_path, meta_path = folder / "corpus.safetensors", folder / "corpus.json"
    if arrays_path.is_file() and meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            arrays = load_file(str(arrays_path))
            if meta.get("key") == key:
                return Corpus(meta["words"], arrays["flat"], arrays["lengths"]), meta["labels"], int(meta["n_train"])
        except Exception:  # a damaged cache is rebuilt, never trusted
            pass
    corpus, labels, n_train = read()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write(arrays_path, lambda tmp: save_file({"flat": corpus.flat, "lengths": corpus.lengths}, str(tmp)))
        meta = {"key": key, "words": corpus.words, "labels": list(labels), "n_train": n_train}
        atomic_write(meta_path, lambda tmp: tmp.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8"))
    except OSError:  # a read-only cache only costs speed
        pass
    return corpus, labels, n_train
