"""The imdb_* zoo entries: shapes, padding never changes the output, vocabulary size from the
data, an end-to-end train + predict on raw strings through the CLI, and (slow) the IMDB figures."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
import torch

from deepscope import zoo
from deepscope.data import from_texts, load, spec_with_options
from deepscope.zoo.text import PackedLSTM

TEXT_MODELS = ["imdb_lstm", "imdb_cnn", "imdb_bidirectional_lstm", "imdb_cnn_lstm", "imdb_fasttext"]
IMDB = Path(os.environ.get("DEEPSCOPE_IMDB", "/tmp/data/aclImdb"))


@pytest.mark.parametrize("name", TEXT_MODELS)
def test_text_model_builds_and_runs_on_its_example_shape(name):
    info = zoo.info(name)
    assert info.kind == "text" and info.example_classes == 2
    assert info.data_options["maxlen"] == info.example_shape[0]  # the example is what its text settings produce
    model = zoo.create(name, in_shape=info.example_shape, num_classes=2, seed=0, vocab_size=50)
    x = torch.randint(0, 50, (3, *info.example_shape))
    x[0, : info.example_shape[0] // 2] = 0  # a pre-padded sample
    out = model(x)
    assert out.shape == (3, 2) and torch.isfinite(out).all()
    out.sum().backward()
    assert model.zoo_config["kwargs"] == {"vocab_size": 50}


def test_create_takes_the_vocabulary_size_from_the_data():
    texts = ["good fun film", "bad dull film", "good cast", "dull plot"] * 3
    data = from_texts(texts, ["pos", "neg", "pos", "neg"] * 3, maxlen=6)
    model = zoo.create("imdb_fasttext", data=data, seed=0)
    assert model.embedding.num_embeddings == data.info["vocab_size"] == 2 + 7
    assert model.zoo_config["kwargs"]["vocab_size"] == 9


@pytest.mark.parametrize("bidirectional", [False, True])
def test_packed_lstm_ignores_padding_on_either_side(bidirectional):
    torch.manual_seed(0)
    emb = torch.nn.Embedding(20, 4, padding_idx=0)
    rnn = PackedLSTM(4, 3, bidirectional=bidirectional).eval()
    tokens = torch.tensor([5, 7, 2, 9])
    pre = torch.cat([torch.zeros(3, dtype=torch.long), tokens]).unsqueeze(0)  # (1, 7)
    post = torch.cat([tokens, torch.zeros(3, dtype=torch.long)]).unsqueeze(0)
    bare = tokens.unsqueeze(0)  # (1, 4)
    with torch.no_grad():
        expected = rnn.lstm(emb(bare))[1][0]  # (directions, 1, 3) final states of the unpadded text
        expected = torch.cat(list(expected), dim=1)
        for x in (pre, post, bare):
            assert torch.allclose(rnn(emb(x), x), expected, atol=1e-6)


def test_the_dense_kernel_path_matches_packing_in_values_and_gradients():
    """A one-direction PackedLSTM runs the dense LSTM and reads each text's output at its last
    real token: the same final states, and the same gradients, as packing the real tokens."""
    from torch.nn.utils.rnn import pack_padded_sequence

    torch.manual_seed(0)
    rnn = PackedLSTM(4, 3)
    ids = torch.tensor([[0, 0, 0, 5, 7, 2], [4, 8, 9, 1, 6, 3], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 9]])
    x = torch.randn(4, 6, 4, requires_grad=True)
    fast = rnn(x, ids)  # (4, 3)
    lengths = (ids != 0).sum(dim=1)
    rows = []
    for n in range(4):  # each text alone, its real tokens packed (an empty one reads its first step)
        steps = x[n, ids[n] != 0] if lengths[n] else x[n, :1]
        packed = pack_padded_sequence(steps[None], [len(steps)], batch_first=True)
        rows.append(rnn.lstm(packed)[1][0][0, 0])
    slow = torch.stack(rows)
    assert torch.allclose(fast, slow, atol=1e-6)
    weights = torch.randn(4, 3)
    grad_fast = torch.autograd.grad((fast * weights).sum(), [x, rnn.lstm.weight_hh_l0])
    grad_slow = torch.autograd.grad((slow * weights).sum(), [x, rnn.lstm.weight_hh_l0])
    for a, b in zip(grad_fast, grad_slow):
        assert torch.allclose(a, b, atol=1e-6)


def test_fasttext_averages_real_tokens_only():
    model = zoo.create("imdb_fasttext", in_shape=(6,), num_classes=2, seed=0, vocab_size=10).eval()
    short = torch.tensor([[0, 0, 0, 0, 3, 4]])
    with torch.no_grad():
        manual = model.head(model.embedding.weight[[3, 4]].mean(dim=0, keepdim=True))
        assert torch.allclose(model(short), manual, atol=1e-6)


def test_text_models_refuse_image_data(digits):
    with pytest.raises(Exception, match="expects text data"):
        zoo.create("imdb_cnn", data=digits)


# ----------------------------------------------------------------------------- end to end
def _sentences(n: int) -> tuple[list[str], list[str]]:
    good = ["great", "wonderful", "superb", "loved", "brilliant"]
    bad = ["awful", "terrible", "boring", "hated", "dreadful"]
    filler = ["the", "film", "plot", "was", "acting", "really", "quite", "cast"]
    gen = torch.Generator().manual_seed(0)
    texts, labels = [], []
    for i in range(n):
        words = [filler[int(j)] for j in torch.randint(0, len(filler), (5,), generator=gen)]
        pool = good if i % 2 else bad
        words.insert(int(torch.randint(0, 5, (1,), generator=gen)), pool[int(torch.randint(0, 5, (1,), generator=gen))])
        texts.append(" ".join(words).capitalize() + "!")
        labels.append("pos" if i % 2 else "neg")
    return texts, labels


def test_cli_trains_a_text_model_and_predicts_raw_strings(tmp_path, monkeypatch, capsys):
    from deepscope.cli import main

    monkeypatch.setenv("DEEPSCOPE_HOME", str(tmp_path / "home"))
    texts, labels = _sentences(120)
    path = tmp_path / "reviews.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("text", "label"), *zip(texts, labels)])
    run_dir = tmp_path / "run"
    code = main(
        [
            "train",
            "imdb_fasttext",
            "--data",
            f"text:{path}?maxlen=12&max_ngrams=50",
            "--epochs",
            "10",
            "--lr",
            "0.05",
            "--batch-size",
            "16",
            "--out",
            str(run_dir),
            "--quiet",
        ]
    )
    assert code == 0
    config = json.loads((run_dir / "config.json").read_text())
    # the zoo's text settings were added where the spec did not set them
    assert config["data"]["spec"] == f"text:{path}?maxlen=12&max_ngrams=50&max_words=20000&ngrams=2"
    assert config["data"]["input_shape"] == [12]
    vocab = json.loads((run_dir / "vocab.json").read_text())
    assert vocab["tokens"][:2] == ["<pad>", "<oov>"] and vocab["maxlen"] == 12
    review = tmp_path / "review.txt"
    review.write_text("What a dreadful, boring film.<br />I hated it.", encoding="utf-8")
    capsys.readouterr()
    assert main(["predict", str(run_dir), "A superb film, loved the cast", f"@{review}", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [r["top"][0]["class"] for r in results] == ["pos", "neg"]
    assert all(r["top"][0]["probability"] > 0.8 for r in results)
    # the embedding view of the same run: neighbours printed, word map written
    assert main(["words", str(run_dir), "--near", "great", "--k", "3", "--map", "12", "--method", "pca"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].strip().startswith("great:") and len(lines[0].split(",")) == 3
    assert (run_dir / "figures" / "word_map.png").stat().st_size > 1000


# ----------------------------------------------------------------------------- IMDB figures
TARGETS = {
    "imdb_fasttext": 0.90,
    "imdb_cnn": 0.89,
    "imdb_cnn_lstm": 0.85,
    "imdb_lstm": 0.85,
    "imdb_bidirectional_lstm": 0.85,
}


@pytest.mark.slow
@pytest.mark.parametrize("name", TEXT_MODELS)
def test_imdb_test_accuracy_reaches_the_target(name, tmp_path):
    from deepscope import runs

    if not (IMDB / "train" / "pos").is_dir():
        pytest.skip(f"aclImdb is absent from {IMDB} (set $DEEPSCOPE_IMDB; see shared/data/README.md)")
    info = zoo.info(name)
    data = load(spec_with_options(f"imdb:{IMDB}", info.data_options))
    model = zoo.create(name, data=data, seed=0)
    run = runs.fit(model, data, runs_dir=tmp_path, progress=False)
    assert run.evaluate("test").accuracy >= TARGETS[name]
