"""Hostile text and series files: every generated input loads or fails with deepscope's own
error, within the time and memory bounds of the `hostile` fixture (tests/conftest.py).

Each parser gets mutated copies of a valid file (weird numbers such as 1e400, -0, huge ints;
header tags declaring giant sizes; separators and quotes in odd places; truncation; other
encodings), random bytes, and generated structures (JSON values of every type, nested
deep; tables with missing and extra columns). Examples are derandomised: the suite is the
same on every run.
"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deepscope.data import Vocabulary, load, load_text
from deepscope.errors import DataError

pytest.importorskip("pandas")

HOSTILE = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

WEIRD_NUMBERS = [
    "1e400", "-1e400", "1e-400", "nan", "NaN", "-nan", "inf", "-Infinity", "-0", "+0", "0x1F", "1_000",
    "9" * 400, "3.5e38", "-3.4e38", "1e38", "", " ", "?", "١٢", "1.2.3", "--1", "1e", ".", "∞",
]  # fmt: skip
WEIRD_TOKENS = [
    ":", ",", "\t", "\n", "\r\n", "'", '"', "\\n", "(", ")", "%", "#", "{", "[", "\x00", "\ufeff", "é",
    "@data", "@seriesLength 99999999999", "@seriesLength 2", "@dimensions 1000000000", "@dimensions 3",
    "@equalLength true", "@univariate true", "@classLabel true", "@classLabel false", "@targetLabel true",
    "@timeStamps true", "@missing maybe", "@attribute x relational", "@end x", "@attribute y numeric",
]  # fmt: skip
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


FRAGMENTS = st.one_of(st.sampled_from(WEIRD_NUMBERS + WEIRD_TOKENS), st.text(max_size=6))
WEIRD = st.sampled_from(WEIRD_NUMBERS)
EDITS = st.sampled_from(("insert", "replace", "delete", "truncate", "repeat", "weird", "weird", "value", "value"))
VALUES = st.floats(width=32, allow_nan=False, allow_infinity=False).map(repr)  # odd but valid: -0.0, 3e38, 1e-45
FRACTION = st.integers(0, 1 << 16)  # a place in the text, as a fraction (one strategy, built once)
ENCODINGS = st.sampled_from(("utf-8",) * 6 + ("utf-8-sig", "utf-16", "latin-1"))


@st.composite
def mutated(draw, base: str) -> bytes:
    """``base`` after 0-5 random edits (half of them in its second half, where the data lines
    are), encoded (mostly UTF-8, sometimes not)."""
    text = base
    for _ in range(draw(st.integers(0, 5))):
        op, where, late = draw(EDITS), draw(FRACTION), draw(st.booleans())
        i = (len(text) + 1) * where >> 16
        if late:
            i = (len(text) + i) // 2
        j = min(len(text), i + draw(FRACTION) % 13)
        if op == "insert":
            text = text[:i] + draw(FRAGMENTS) + text[i:]
        elif op == "replace":
            text = text[:i] + draw(FRAGMENTS) + text[j:]
        elif op == "delete":
            text = text[:i] + text[j:]
        elif op == "truncate":
            text = text[:i]
        elif op == "repeat":  # a line repeated: many series, or one very long line
            lines = text.split("\n")
            k = draw(FRACTION) % len(lines)
            lines.insert(k, lines[k] * (1 + draw(FRACTION) % 40))
            text = "\n".join(lines)
        else:  # a number swapped for a weird one, or for another valid one
            spans = [m.span() for m in _NUMBER.finditer(text)]
            if spans:
                a, b = spans[draw(FRACTION) % len(spans)]
                text = text[:a] + draw(WEIRD if op == "weird" else VALUES) + text[b:]
    return text.encode(draw(ENCODINGS), errors="replace")


def hostile_files(*bases: str) -> st.SearchStrategy[bytes]:
    return st.one_of(
        *(mutated(b) for b in bases),
        *(mutated(b) for b in bases),
        st.binary(max_size=200),
        st.text(max_size=200).map(str.encode),
        st.just(b""),
    )


# ----------------------------------------------------------------------------- UCR
TS = """# toy
@problemName toy
@timeStamps false
@missing true
@univariate false
@dimensions 2
@equalLength false
@classLabel true up down
@data
1,2,3,4,5:5,4,3,2,1:up
1,2,3:3,2,1:up
5,?,3,2,1:1,2,3,4,5:down
4,3,2,1,0:0,1,2,3,4:down
"""
TS_STAMPED = """@problemName stamped
@timeStamps true
@univariate false
@dimensions 2
@equalLength true
@seriesLength 2
@classLabel true up down
@data
(2007-01-01 00:00:00,1.5),(2007-01-01 00:01:00,2.5):(2007-01-01 00:00:00,0.5),(2007-01-01 00:01:00,1):up
(2007-01-01 01:00:00,4.0),(2007-01-01 01:01:00,0.0):(2007-01-01 01:00:00,1.0),(2007-01-01 01:01:00,2):down
(2007-01-01 02:00:00,1.0),(2007-01-01 02:01:00,0.0):(2007-01-01 02:00:00,1.0),(2007-01-01 02:01:00,3):up
(2007-01-01 03:00:00,2.0),(2007-01-01 03:01:00,3.0):(2007-01-01 03:00:00,1.0),(2007-01-01 03:01:00,4):down
"""
ARFF = """@relation toy
@attribute t0 numeric
@attribute t1 numeric
@attribute t2 numeric
@attribute target {a,b}
@data
1,2,3,a
3,?,1,b
2,2,4,a
0,1,-2,b
"""
ARFF_MULTI = """@relation 'multi'
@attribute relationalAtt relational
@attribute att0 numeric
@attribute att1 numeric
@attribute att2 numeric
@end relationalAtt
@attribute activity {Standing,Running}
@data
'0.1,0.2,0.3\\n1,2,3',Standing
'0.3,0.2,0.1\\n3,2,1',Running
'0.1,?,0.3\\n1,2,3',Standing
'0.5,0.2,0.1\\n3,2,0',Running
"""
TSV = "1\t1\t2\t3\t4\n2\t4\tNaN\t2\t1\n1\t1\t2\tNaN\tNaN\n2\t2\t1\t0\t-1\n"
VAL_FRACTIONS = st.sampled_from((0.0, 0.25, 0.5, 0.9999))


def VALID_OR(files: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes | None]:  # noqa: N802
    """The valid test file (None) three times in four, else a hostile one."""
    return st.one_of(st.none(), st.none(), st.none(), files)


def _ucr_case(hostile, tmp_path, parser: str, suffix: str, valid: str, train: bytes, test: bytes | None, fraction):
    (tmp_path / f"H_TRAIN{suffix}").write_bytes(train)
    (tmp_path / f"H_TEST{suffix}").write_bytes(valid.encode() if test is None else test)
    hostile(parser, lambda: load(f"ucr:{tmp_path}", val_fraction=fraction))


@HOSTILE
@given(train=hostile_files(TS, TS_STAMPED), test=VALID_OR(hostile_files(TS)), fraction=VAL_FRACTIONS)
def test_ucr_ts_files(hostile, tmp_path, train, test, fraction):
    _ucr_case(hostile, tmp_path, "ucr_ts", ".ts", TS, train, test, fraction)


@HOSTILE
@given(train=hostile_files(ARFF, ARFF_MULTI), test=VALID_OR(hostile_files(ARFF)), fraction=VAL_FRACTIONS)
def test_ucr_arff_files(hostile, tmp_path, train, test, fraction):
    _ucr_case(hostile, tmp_path, "ucr_arff", ".arff", ARFF, train, test, fraction)


@HOSTILE
@given(train=hostile_files(TSV), test=VALID_OR(hostile_files(TSV)), fraction=VAL_FRACTIONS)
def test_ucr_tsv_files(hostile, tmp_path, train, test, fraction):
    _ucr_case(hostile, tmp_path, "ucr_tsv", ".tsv", TSV, train, test, fraction)


# ----------------------------------------------------------------------------- text
CSV = "text,label\n" + "".join(
    f'"{"great fun" if i % 2 else "awful, boring"} film {i}",{"pos" if i % 2 else "neg"}\n' for i in range(12)
)
JSONL = "".join(
    json.dumps({"text": f"review {i} is {'good' if i % 3 else 'bad'}", "label": i % 3}) + "\n" for i in range(12)
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
GOOD_LABELS = ["pos", "neg", 0, 1, 2.0, "1", -3]
labels = st.one_of(st.sampled_from(GOOD_LABELS), json_values)


ROW_KINDS = st.sampled_from(("good",) * 12 + ("row", "value", "deep", "broken"))
TEXTS, KEYS = st.text(max_size=20), st.text(max_size=4)
ANY_TEXT = st.one_of(TEXTS, json_values)
GOOD = st.sampled_from(GOOD_LABELS)
COLUMN = st.sampled_from(["text", "label"])
DEPTH, CUT, ROWS = st.integers(1, 20_000), st.integers(0, 20), st.integers(0, 14)


@st.composite
def jsonl_files(draw) -> bytes:
    """Rows of texts and labels, each a valid row or (now and then) an odd one: text or label of
    any JSON type, a key missing or extra, another JSON value, deep nesting, a broken line."""
    lines = []
    for i in range(draw(ROWS)):
        kind = draw(ROW_KINDS)
        if kind == "good":
            lines.append(json.dumps({"text": draw(TEXTS), "label": draw(GOOD)}))
        elif kind == "row":
            row = {"text": draw(ANY_TEXT), "label": draw(labels)}
            if draw(st.booleans()):
                row.pop(draw(COLUMN))
            if draw(st.booleans()):
                row[draw(KEYS)] = draw(json_values)
            lines.append(json.dumps(row))
        elif kind == "value":
            lines.append(json.dumps(draw(json_values)))
        elif kind == "deep":
            depth = draw(DEPTH)
            lines.append('{"text": "a", "label": ' + "[" * depth + "]" * depth + "}")
        else:
            lines.append(json.dumps({"text": "b", "label": i % 2})[: draw(CUT)])
    return "\n".join(lines).encode()


@HOSTILE
@given(data=hostile_files(CSV), fraction=VAL_FRACTIONS)
def test_text_csv_files(hostile, tmp_path, data, fraction):
    path = tmp_path / "reviews.csv"
    path.write_bytes(data)
    hostile("text_csv", lambda: load_text(path, maxlen=8, val_fraction=fraction, cache=False))


@HOSTILE
@given(data=st.one_of(jsonl_files(), hostile_files(JSONL)), fraction=VAL_FRACTIONS)
def test_text_jsonl_files(hostile, tmp_path, data, fraction):
    path = tmp_path / "reviews.jsonl"
    path.write_bytes(data)
    hostile("text_jsonl", lambda: load_text(path, maxlen=8, val_fraction=fraction, cache=False))


@settings(HOSTILE, max_examples=50)
@given(data=st.one_of(st.dictionaries(st.sampled_from(["format", "tokenizer", "tokens", "num_words", "maxlen",
    "ngrams", "padding", "truncating"]), json_values).map(json.dumps).map(str.encode),
    hostile_files(json.dumps(Vocabulary.build(["good film", "bad film"], maxlen=3).to_dict()))))  # fmt: skip
def test_vocabulary_files(hostile, tmp_path, data):
    path = tmp_path / "vocab.json"
    path.write_bytes(data)
    hostile("vocab_json", lambda: Vocabulary.load(path).encode(["good film"]))


def _wordpiece_vocab() -> str:
    """A small but real WordPiece vocab.json (the format a MiniLM run folder holds): a BERT-style
    tokenizers JSON with eleven pieces, so that mutations hit its structure, not a 30k-word list."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    from deepscope.data.wordpiece import WORDPIECE_FORMAT

    pieces = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "good", "bad", "film", "##s", "a", "the", "##ly"]
    tokenizer = Tokenizer(models.WordPiece({p: i for i, p in enumerate(pieces)}, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    saved = {"format": WORDPIECE_FORMAT, "kind": "wordpiece", "name": "toy", "maxlen": 8, "truncating": "pre"}
    return json.dumps({**saved, "tokenizer": json.loads(tokenizer.to_str())})


WORDPIECE_KEYS = st.sampled_from(["format", "kind", "name", "maxlen", "truncating", "tokenizer"])


@settings(HOSTILE, max_examples=80)
@given(data=st.one_of(
    st.dictionaries(WORDPIECE_KEYS, json_values).map(lambda d: {**d, "kind": "wordpiece"}).map(json.dumps).map(str.encode),
    hostile_files(_wordpiece_vocab())))  # fmt: skip
def test_wordpiece_vocabulary_files(hostile, tmp_path, data):
    path = tmp_path / "vocab.json"
    path.write_bytes(data)
    hostile("wordpiece_json", lambda: Vocabulary.load(path).encode(["good films, badly"]))


def test_a_wordpiece_vocabulary_with_gaps_in_its_ids_is_refused(tmp_path):
    saved = json.loads(_wordpiece_vocab())
    saved["tokenizer"]["model"]["vocab"]["##ly"] = 99  # ids 0-9 and 99: no row 10 to look up
    path = tmp_path / "vocab.json"
    path.write_text(json.dumps(saved))
    with pytest.raises(DataError, match=r"vocabulary ids must be 0\.\.10, each once"):
        Vocabulary.load(path)


# ----------------------------------------------------------------------------- series CSV
SERIES = "date,sales,visits\n" + "".join(f"2000-{m % 12 + 1:02d}-01,{100 + m},{m * 3 % 17}\n" for m in range(40))
LONG = "id,time,value\n" + "".join(f"{'ab'[k]},{t},{t * (k + 1)}\n" for k in range(2) for t in range(30))
cells = st.one_of(
    st.integers(-(10**25), 10**25).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(WEIRD_NUMBERS + ["2000-01-01", "a", '"x,y"']),
)


NAMES = st.lists(st.sampled_from(["time", "date", "id", "value", "y", "x", "", "time"]), max_size=4)
TABLE_ROWS, WIDTH = st.integers(0, 50), st.sampled_from([0, 0, 0, -1, 1])


@st.composite
def tables(draw) -> bytes:
    """A generated CSV: a few named columns (time/id names included) and rows of odd cells,
    some rows short or long."""
    names = draw(NAMES)
    rows = []
    for _ in range(draw(TABLE_ROWS)):
        width = len(names) + draw(WIDTH)
        rows.append(",".join(draw(cells) for _ in range(max(width, 0))))
    return "\n".join([",".join(names), *rows]).encode()


options = st.lists(
    st.sampled_from(
        ["history=4", "history=1000000", "horizon=2", "horizon=0", "test_size=3", "test_size=-1", "season=1",
         "season=0", "season=12", "value=sales", "value=nope", "id=id", "time=date"]
    ),
    max_size=3, unique=True,
)  # fmt: skip


@HOSTILE
@given(data=st.one_of(tables(), hostile_files(SERIES, LONG)), options=options, fraction=VAL_FRACTIONS)
def test_series_csv_files(hostile, tmp_path, data, options, fraction):
    path = tmp_path / "series.csv"
    path.write_bytes(data)
    spec = f"series:{path}" + ("?" + "&".join(options) if options else "")
    hostile("series_csv", lambda: load(spec, val_fraction=fraction))
