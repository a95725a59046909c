"""Tokenizer, vocabulary, padding/truncation, n-grams and the text/imdb loaders."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from deepscope.data import Corpus, Vocabulary, from_texts, load, load_imdb, load_text, spec_with_options, tokenize
from deepscope.data.text import split_spec_options
from deepscope.errors import DataError, InvalidArgumentError

IMDB = Path(os.environ.get("DEEPSCOPE_IMDB", "/tmp/data/aclImdb"))


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPSCOPE_HOME", str(tmp_path / "home"))


# ----------------------------------------------------------------------------- tokenizer
def test_tokenize_lowercases_drops_html_and_punctuation_keeps_inner_apostrophes():
    text = "Don't watch it!<br /><br />It's AWFUL... 2/10, <i>really</i> (sadly) bad_movie"
    assert tokenize(text) == ["don't", "watch", "it", "it's", "awful", "2", "10", "really", "sadly", "bad", "movie"]


def test_tokenize_keeps_non_ascii_letters_and_rejects_non_strings():
    assert tokenize("Café Noël — très bien") == ["café", "noël", "très", "bien"]
    with pytest.raises(InvalidArgumentError, match="`text` must be a string"):
        tokenize(None)


# ----------------------------------------------------------------------------- vocabulary
TEXTS = ["b a c a", "a b d", "e a b"]  # counts: a 4, b 3, c 1, d 1, e 1


def test_vocabulary_keeps_top_words_by_frequency_ties_alphabetical_with_reserved_ids():
    vocab = Vocabulary.build(TEXTS, max_words=3, maxlen=4)
    assert vocab.tokens == ["<pad>", "<oov>", "a", "b", "c"]
    assert len(vocab) == 5
    # d and e fall outside the top 3: out of vocabulary (id 1)
    assert vocab.encode(["a d c e"]).tolist() == [[2, 1, 4, 1]]


def test_vocabulary_counts_only_the_documents_it_is_given():
    corpus = Corpus.from_texts(["good good film", "bad film", "zebra zebra zebra zebra"])
    vocab = Vocabulary.from_corpus(corpus, np.array([0, 1]), max_words=10, maxlen=3)
    assert "zebra" not in vocab.tokens
    assert vocab.encode(["zebra good"]).tolist() == [[0, 1, vocab.tokens.index("good")]]


@pytest.mark.parametrize(
    ("padding", "truncating", "expected"),
    [
        ("pre", "pre", [[0, 0, 2, 3], [4, 5, 6, 7]]),  # Keras' default: keep the last words
        ("post", "pre", [[2, 3, 0, 0], [4, 5, 6, 7]]),
        ("pre", "post", [[0, 0, 2, 3], [2, 3, 4, 5]]),
        ("post", "post", [[2, 3, 0, 0], [2, 3, 4, 5]]),
    ],
)
def test_padding_and_truncation_sides(padding, truncating, expected):
    vocab = Vocabulary.build(["w1 w2 w3 w4 w5 w6"], max_words=10, maxlen=4, padding=padding, truncating=truncating)
    assert vocab.tokens[2:] == ["w1", "w2", "w3", "w4", "w5", "w6"]
    assert vocab.encode(["w1 w2", "w1 w2 w3 w4 w5 w6"]).tolist() == expected


def test_empty_text_encodes_to_padding_and_single_string_is_refused():
    vocab = Vocabulary.build(TEXTS, maxlen=3)
    assert vocab.encode(["", "!!!"]).tolist() == [[0, 0, 0], [0, 0, 0]]
    with pytest.raises(InvalidArgumentError, match="a list of strings"):
        vocab.encode("a b")


@pytest.mark.parametrize(("arg", "value"), [("maxlen", 0), ("padding", "left"), ("ngrams", 9), ("max_words", -1)])
def test_bad_vocabulary_settings_are_named(arg, value):
    with pytest.raises(InvalidArgumentError, match=f"`{arg}` must be"):
        Vocabulary.build(TEXTS, **{arg: value})


def test_bigrams_are_added_after_the_words_and_never_span_two_documents():
    texts = ["not good", "not good at all", "good"]
    vocab = Vocabulary.build(texts, max_words=10, maxlen=8, ngrams=2, max_ngrams=2, padding="post")
    # bigram counts: 'not good' 2, 'at all' 1, 'good at' 1 -> top 2, ties by code ('at' < 'good' by id order)
    assert vocab.tokens[2:6] == ["good", "not", "all", "at"]
    assert vocab.tokens[6] == "not good"
    ids = vocab.encode(["not good not good", "good not"])
    not_good = vocab.tokens.index("not good")
    assert ids[0].tolist()[:6] == [3, 2, 3, 2, not_good, not_good]
    assert "good not" not in vocab.tokens and ids[1].tolist()[:3] == [2, 3, 0]
    # the last word of one document and the first of the next never form a bigram
    corpus = Corpus.from_texts(["a not", "good b"])
    assert not_good not in vocab.encode_corpus(corpus).flatten().tolist()


def test_trigrams_and_decode():
    vocab = Vocabulary.build(["x y z", "x y z"], maxlen=10, ngrams=3, max_ngrams=10, padding="post")
    assert set(vocab.tokens[5:]) == {"x y", "y z", "x y z"}
    assert vocab.decode(vocab.encode(["x y z"])[0]) == "x y z x y y z x y z"


def test_vectorised_corpus_encoding_equals_encoding_raw_strings():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(40)]
    texts = [" ".join(rng.choice(words, size=rng.integers(0, 30), p=np.arange(40, 0, -1) / 820)) for _ in range(60)]
    vocab = Vocabulary.build(texts[:40], max_words=25, maxlen=16, ngrams=2, max_ngrams=30)
    corpus = Corpus.from_texts(texts)
    docs = np.arange(40, 60)
    assert torch.equal(vocab.encode_corpus(corpus, docs), vocab.encode(texts[40:]))


def test_vocabulary_json_round_trip(tmp_path):
    vocab = Vocabulary.build(
        ["good movie", "not good", "bad movie"], maxlen=6, ngrams=2, max_ngrams=3, padding="post", truncating="post"
    )
    path = vocab.save(tmp_path / "vocab.json")
    loaded = Vocabulary.load(path)
    assert loaded == vocab and loaded.tokens == vocab.tokens and loaded.maxlen == 6 and loaded.padding == "post"
    texts = ["not good movie at all", "bad bad movie"]
    assert torch.equal(loaded.encode(texts), vocab.encode(texts))


def test_damaged_or_missing_vocabulary_file_is_named(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        Vocabulary.load(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DataError, match="bad.json is damaged"):
        Vocabulary.load(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text(
        json.dumps(
            {
                "format": 1,
                "tokens": ["a"],
                "tokenizer": 1,
                "num_words": 0,
                "maxlen": 3,
                "ngrams": 1,
                "padding": "pre",
                "truncating": "pre",
            }
        )
    )
    with pytest.raises(DataError, match="must start with '<pad>'"):
        Vocabulary.load(tmp_path / "other.json")


# ----------------------------------------------------------------------------- CSV / JSONL
def _reviews(n: int = 20) -> tuple[list[str], list[str]]:
    texts = [f"great fun film number {i}" if i % 2 else f"awful boring film, number {i}" for i in range(n)]
    return texts, ["pos" if i % 2 else "neg" for i in range(n)]


def _write_csv(path: Path, texts, labels, header=("text", "label"), delimiter=","):
    import csv

    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(zip(texts, labels))
    return path


def test_csv_file_with_quotes_and_newlines_gives_a_seeded_stratified_test_split(tmp_path):
    texts, labels = _reviews(20)
    texts[0] = 'She said "awful",\nthen left'
    path = _write_csv(tmp_path / "reviews.csv", texts, labels)
    data = load_text(path, maxlen=7)
    assert data.kind == "text" and data.input_shape == (7,) and data.classes == ["neg", "pos"]
    assert len(data.train) + len(data.val) == 16 and len(data.test) == 4
    assert data.test.tensors[1].tolist().count(0) == 2  # stratified: half of the test split is 'neg'
    assert data.train.tensors[0].dtype == torch.int64
    again = load_text(path, maxlen=7, seed=5)  # the test split never depends on the user's seed
    assert torch.equal(again.test.tensors[0], data.test.tensors[0])
    vocab = Vocabulary.from_dict(data.files["vocab.json"])
    assert data.info["vocab_size"] == len(vocab)


def test_tsv_and_jsonl_files_with_other_column_names(tmp_path):
    texts, labels = _reviews(10)
    tsv = _write_csv(tmp_path / "r.tsv", texts, labels, header=("review", "stars"), delimiter="\t")
    data = load_text(tsv, text_column="review", label_column="stars", maxlen=5)
    assert data.classes == ["neg", "pos"]
    jsonl = tmp_path / "r.jsonl"
    jsonl.write_text("\n".join(json.dumps({"body": t, "y": int(lab == "pos") * 10}) for t, lab in zip(texts, labels)))
    data = load(f"text:{jsonl}?text_column=body&label_column=y&maxlen=5")
    assert data.classes == ["0", "10"] and data.input_shape == (5,)


def test_missing_column_error_names_file_and_suggests(tmp_path):
    path = _write_csv(tmp_path / "r.csv", *_reviews(4), header=("txt", "label"))
    with pytest.raises(DataError, match=r"r\.csv has no column 'text' \(the header\)\. Did you mean 'txt'\?"):
        load_text(path)
    jsonl = tmp_path / "r.jsonl"
    jsonl.write_text('{"text": "a", "label": 1}\n{"text": "b", "lable": 0}\n')
    with pytest.raises(DataError, match=r"no column 'label' \(line 2\)\. Did you mean 'lable'\?"):
        load_text(jsonl)


def test_bad_jsonl_line_and_empty_label_are_located(tmp_path):
    jsonl = tmp_path / "r.jsonl"
    jsonl.write_text('{"text": "a", "label": 1}\n{"text": "b", label: 0}\n')
    with pytest.raises(DataError, match=r"r\.jsonl, line 2: not valid JSON"):
        load_text(jsonl)
    csv_path = tmp_path / "r.csv"
    csv_path.write_text("text,label\ngood,pos\nbad,\n")
    with pytest.raises(
        DataError, match=r"r\.csv, line 3: the 'label' value must be a class name \(a non-empty string\) or an integer"
    ):
        load_text(csv_path)


def test_non_utf8_file_is_named(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("text,label\ncaf\xe9 cr\xe8me,pos\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin\.csv is not UTF-8 text"):
        load_text(path)


def test_folder_with_train_and_test_files_and_unknown_test_label(tmp_path):
    texts, labels = _reviews(12)
    _write_csv(tmp_path / "train.csv", texts, labels)
    _write_csv(tmp_path / "test.csv", texts[:4], labels[:4])
    data = load(f"text:{tmp_path}?maxlen=6", val_fraction=0.25)
    assert (len(data.train), len(data.val), len(data.test)) == (9, 3, 4)
    _write_csv(tmp_path / "test.csv", texts[:2], ["pos", "meh"])
    with pytest.raises(DataError, match=r"test\.csv has 'label' values \['meh'\]"):
        load(f"text:{tmp_path}")
    (tmp_path / "train.csv").unlink()
    with pytest.raises(DataError, match="has no train file"):
        load(f"text:{tmp_path}")


def test_spec_options_parse_merge_and_reject_unknown_names(tmp_path):
    assert split_spec_options("a.csv?maxlen=80&padding=post") == (Path("a.csv"), {"maxlen": 80, "padding": "post"})
    assert spec_with_options("imdb:D?maxlen=50", {"maxlen": 80, "max_words": 5000}) == "imdb:D?maxlen=50&max_words=5000"
    assert spec_with_options("imdb:D", {}) == "imdb:D"
    with pytest.raises(InvalidArgumentError, match="Unknown text option 'maxlne'.*Did you mean 'maxlen'"):
        split_spec_options("a.csv?maxlne=3")
    with pytest.raises(InvalidArgumentError, match="`maxlen` must be a value of type int. Received: maxlen='big'"):
        split_spec_options("a.csv?maxlen=big")
    with pytest.raises(DataError, match="needs a path before the settings"):
        load("text:maxlen=80")


def test_from_texts_holds_out_a_test_split_and_checks_lengths():
    texts, labels = _reviews(20)
    data = from_texts(texts, labels, maxlen=4)
    assert data.classes == ["neg", "pos"] and len(data.test) == 4
    with pytest.raises(InvalidArgumentError, match="`texts` must be"):
        from_texts(texts[:3], labels)


# ----------------------------------------------------------------------------- aclImdb
def _fake_imdb(root: Path, with_val: bool = True) -> Path:
    reviews = {
        "train/pos": {0: ("Great film!<br />Loved it.", 9), 1: ("a great cast", 8)},
        "train/neg": {0: ("Awful. Just awful.", 1), 1: ("boring and awful", 2)},
        "test/pos": {0: ("great great", 10), 1: ("loved the cast", 7)},
        "test/neg": {0: ("awful film", 3), 1: ("so boring", 4)},
    }
    if with_val:
        reviews["val/pos"] = {2: ("great fun", 9)}
        reviews["val/neg"] = {2: ("boring mess", 1)}
    for folder, items in reviews.items():
        (root / "aclImdb" / folder).mkdir(parents=True, exist_ok=True)
        for i, (text, rating) in items.items():
            (root / "aclImdb" / folder / f"{i}_{rating}.txt").write_text(text, encoding="utf-8")
    return root / "aclImdb"


def test_aclimdb_layout_merges_val_back_into_train(tmp_path):
    path = _fake_imdb(tmp_path)
    data = load_imdb(path, maxlen=5, val_fraction=0.0)
    assert data.classes == ["neg", "pos"] and data.name == "imdb"
    assert (len(data.train), len(data.val), len(data.test)) == (6, 0, 4)
    assert data.train.tensors[1].tolist() == [0, 0, 0, 1, 1, 1]  # neg then pos, each in id order
    vocab = Vocabulary.from_dict(data.files["vocab.json"])
    assert vocab.decode(data.train.tensors[0][3]) == "great film loved it"  # <br /> and punctuation gone
    assert vocab.decode(data.train.tensors[0][5]) == "great fun"  # val/pos/2_9.txt merged in
    assert "cast" in vocab.tokens and "so" not in vocab.tokens  # counted on train (+val) only


def test_aclimdb_spec_accepts_the_parent_folder_and_options(tmp_path):
    _fake_imdb(tmp_path, with_val=False)
    data = load(f"imdb:{tmp_path}?maxlen=3&max_words=2", val_fraction=0.0)
    assert data.input_shape == (3,) and len(data.train) == 4 and data.info["vocab_size"] == 4
    assert data.spec == f"imdb:{tmp_path}?maxlen=3&max_words=2"


def test_aclimdb_missing_folder_is_named(tmp_path):
    path = _fake_imdb(tmp_path)
    for f in (path / "test" / "neg").iterdir():
        f.unlink()
    (path / "test" / "neg").rmdir()
    with pytest.raises(DataError, match=r"has no test/neg/\. Expected train/pos"):
        load_imdb(path)


def test_tokenized_corpus_is_cached_and_invalidated_by_file_changes(tmp_path):
    path = _fake_imdb(tmp_path)
    first = load_imdb(path, maxlen=5)
    cached = list((tmp_path / "home" / "text").glob("*/corpus.safetensors"))
    assert len(cached) == 1
    again = load_imdb(path, maxlen=5)
    assert torch.equal(first.train.tensors[0], again.train.tensors[0])
    (path / "test" / "pos" / "0_10.txt").write_text("dreadful dreadful dreadful", encoding="utf-8")
    changed = load_imdb(path, maxlen=5)
    assert len(list((tmp_path / "home" / "text").glob("*/corpus.safetensors"))) == 2
    assert not torch.equal(first.test.tensors[0], changed.test.tensors[0])


@pytest.mark.slow
def test_real_aclimdb_has_25000_train_and_25000_test_reviews():
    if not (IMDB / "train" / "pos").is_dir():
        pytest.skip(f"aclImdb is absent from {IMDB} (set $DEEPSCOPE_IMDB; see shared/data/README.md)")
    data = load(f"imdb:{IMDB}?maxlen=80", val_fraction=0.1)
    assert (len(data.train) + len(data.val), len(data.test)) == (25_000, 25_000)
    assert data.train.tensors[1].float().mean().item() == pytest.approx(0.5, abs=0.01)
    assert data.test.tensors[1].float().mean().item() == 0.5
    assert data.info["vocab_size"] == 20_002


# ----------------------------------------------------------------------------- hostile files
def test_fifo_and_devices_are_refused_by_name_not_read(tmp_path):
    fifo = tmp_path / "reviews.csv"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match=r"reviews\.csv must be a regular file. Received: a named pipe"):
        load_text(fifo)
    with pytest.raises(DataError, match=r"/dev/zero must be a regular file. Received: a character device"):
        load("text:/dev/zero")


def test_a_file_over_the_text_cap_is_refused(tmp_path):
    from deepscope import limits

    path = _write_csv(tmp_path / "r.csv", *_reviews(20))
    with limits.override(text="100"), pytest.raises(DataError, match=r"r\.csv is .* more than the cap of 100 bytes"):
        load_text(path)


def test_deeply_nested_jsonl_gives_a_clean_error(tmp_path):
    path = tmp_path / "deep.jsonl"
    path.write_text('{"text": "a", "label": 1}\n{"text": "b", "label": ' + "[" * 10_000 + "]" * 10_000 + "}\n")
    with pytest.raises(DataError, match=r"deep\.jsonl, line 2: JSON nested too deeply"):
        load_text(path)


@pytest.mark.parametrize("label", ["NaN", "Infinity", "-Infinity", "true", "null", '{"a": 1}', "[1]", "0.5", '"  "'])
def test_jsonl_labels_that_are_not_names_or_integers_are_refused(tmp_path, label):
    path = tmp_path / "r.jsonl"
    path.write_text(f'{{"text": "good", "label": 1}}\n\n{{"text": "bad", "label": {label}}}\n')
    with pytest.raises(DataError, match=r"r\.jsonl, line 3: the 'label' value must be a class name"):
        load_text(path)


@pytest.mark.parametrize("label", ["NaN", "nan", "inf", "-Infinity", "null"])
def test_csv_labels_that_mean_no_value_are_refused(tmp_path, label):
    path = tmp_path / "r.csv"
    path.write_text(f"text,label\ngood,pos\nbad,{label}\n")
    with pytest.raises(DataError, match=rf"r\.csv, line 3: the 'label' value must be .* Received: '{label}'"):
        load_text(path)


def test_integral_json_floats_are_integer_labels(tmp_path):
    path = tmp_path / "r.jsonl"
    texts, labels = _reviews(10)
    path.write_text(
        "\n".join(json.dumps({"text": t, "label": 3.0 if y == "pos" else 0}) for t, y in zip(texts, labels))
    )
    assert load_text(path, maxlen=4).classes == ["0", "3"]


def test_non_utf8_error_names_line_and_byte_and_a_bom_is_accepted(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(b"text,label\nfine,pos\ncaf\xe9,neg\n")
    with pytest.raises(DataError, match=r"latin\.csv is not UTF-8 text \(line 3, byte 23: b'\\xe9,ne'\)"):
        load_text(path)
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + b"text,label\n" + "".join(f"t{i},{i % 2}\n" for i in range(10)).encode())
    assert load_text(bom, maxlen=2).classes == ["0", "1"]


def test_too_few_rows_to_hold_out_a_test_split_or_a_validation_split(tmp_path):
    one = tmp_path / "one.jsonl"
    one.write_text('{"text": "a", "label": "x"}\n')
    with pytest.raises(DataError, match="only 1 distinct 'label' value"):
        load_text(one)
    two = tmp_path / "two.csv"
    two.write_text("text,label\na,pos\nb,neg\n")  # one test row, one training row: no room for validation
    with pytest.raises(DataError, match="`val_fraction` must leave at least one training sample"):
        load_text(two)
    data = load_text(two, val_fraction=0.0, maxlen=2)
    assert (len(data.train), len(data.val), len(data.test)) == (1, 0, 1)


def test_from_texts_refuses_missing_labels():
    with pytest.raises(InvalidArgumentError, match=r"`labels\[1\]` must be a class name .* Received: labels\[1\]=nan"):
        from_texts(["a", "b"], ["pos", float("nan")])


def test_read_text_file_for_at_file_arguments(tmp_path):
    from deepscope import limits
    from deepscope.data.text import read_text_file

    path = tmp_path / "review.txt"
    path.write_text("A fine film.\nReally.", encoding="utf-8")
    assert read_text_file(path) == "A fine film.\nReally."
    with pytest.raises(DataError, match=r"Text file .*nope\.txt does not exist"):
        read_text_file(tmp_path / "nope.txt")
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(DataError, match="must be a regular file. Received: a named pipe"):
        read_text_file(tmp_path / "pipe")
    with limits.override(text="5"), pytest.raises(DataError, match="more than the cap of 5 bytes"):
        read_text_file(path)


_GOOD_VOCAB = {
    "format": 1,
    "tokenizer": 1,
    "tokens": ["<pad>", "<oov>", "good", "bad"],
    "num_words": 2,
    "maxlen": 3,
    "ngrams": 1,
    "padding": "pre",
    "truncating": "pre",
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tokens": "good bad"}, "`tokens` must be a list of strings"),
        ({"tokens": ["<pad>", "<oov>", "good", 3]}, "`tokens` must be a list of strings"),
        ({"tokens": ["<pad>", "<oov>", "good", "good"]}, "`tokens` must be distinct strings"),
        ({"num_words": 9}, r"`num_words` must be at most the number of tokens less 2 \(2\)"),
        ({"num_words": True}, "`num_words` must be an int >= 0"),
        ({"maxlen": 0}, "`maxlen` must be an int >= 1"),
        ({"maxlen": "3"}, "`maxlen` must be an int >= 1"),
        ({"ngrams": 9}, "`ngrams` must be an int from 1 to 4"),
        ({"padding": None}, "`padding` must be 'pre' or 'post'"),
        ({"ngrams": 2, "tokens": ["<pad>", "<oov>", "good", "bad", "good nope"]}, "n-gram 'good nope'"),
    ],
)
def test_vocabulary_file_fields_are_checked(tmp_path, change, message):
    path = tmp_path / "vocab.json"
    path.write_text(json.dumps({**_GOOD_VOCAB, **change}))
    with pytest.raises(DataError, match=rf"Vocabulary file .*vocab\.json.*{message}"):
        Vocabulary.load(path)


def test_vocabulary_file_is_read_under_the_cap_and_huge_maxlen_is_refused_at_encoding(tmp_path):
    from deepscope import limits

    path = tmp_path / "vocab.json"
    path.write_text(json.dumps({**_GOOD_VOCAB, "maxlen": 10**12}))
    vocab = Vocabulary.load(path)
    with pytest.raises(DataError, match="Token ids of 1 text.* more than the cap"):
        vocab.encode(["good"])
    with limits.override(text="50"), pytest.raises(DataError, match="more than the cap of 50 bytes"):
        Vocabulary.load(path)
    path.write_text("[" * 100_000)
    with pytest.raises(DataError, match="is damaged"):
        Vocabulary.load(path)


def test_a_damaged_cache_is_rebuilt_not_trusted(tmp_path):
    path = _write_csv(tmp_path / "r.csv", *_reviews(20))
    fresh = load_text(path, maxlen=5)
    (arrays,) = (tmp_path / "home" / "text").glob("*/corpus.safetensors")
    from safetensors.numpy import save_file

    save_file({"flat": np.full(3, 10**6, dtype=np.int32), "lengths": np.ones(20, dtype=np.int64)}, str(arrays))
    again = load_text(path, maxlen=5)  # ids out of range: read from the file again
    assert torch.equal(again.train.tensors[0], fresh.train.tensors[0])
    arrays.write_bytes(b"\x00" * 64)
    assert torch.equal(load_text(path, maxlen=5).test.tensors[0], fresh.test.tensors[0])
