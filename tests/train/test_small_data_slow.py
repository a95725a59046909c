"""The small-data figures (docs/small-data.md) on real data, one seed each where the gap is
wide and a shared backbone over three labelled draws where it is not (slow: minutes each).

The benchmarks in benchmarks/ measure the same comparisons over three seeds, with timings;
these tests keep the claims true as the code changes. Data: MNIST from ../shared/data,
CIFAR-10 JPEG folders from $DEEPSCOPE_CIFAR (default /tmp/data/cifar10), aclImdb from
$DEEPSCOPE_IMDB (default /tmp/data/aclImdb); a test whose data is absent is skipped."""

from __future__ import annotations

import os
import statistics
from pathlib import Path

import pytest

from deepscope import runs

CIFAR = Path(os.environ.get("DEEPSCOPE_CIFAR", "/tmp/data/cifar10"))
IMDB = Path(os.environ.get("DEEPSCOPE_IMDB", "/tmp/data/aclImdb"))


@pytest.mark.slow
def test_tune_mnist_cnn_on_digits_picks_at_least_the_recipe(tmp_path):
    """``deepscope tune mnist_cnn --data digits --trials 30``: the choice is never worse on
    validation than the recipe's own point (trial 0), and the test split is scored once."""
    result = runs.tune("mnist_cnn", "digits", trials=30, runs_dir=tmp_path)
    assert len(result.trials) == 30 and result.trials[0].number == 0
    assert result.default_value is not None and result.best.value >= result.default_value
    assert result.test["accuracy"] >= 0.95
    assert [p.parent for p in result.folder.glob("trial-*/metrics.json")] == [result.best.path]


@pytest.mark.slow
def test_augment_auto_raises_mnist_cnn_on_1000_images(mnist_dir, tmp_path):
    """900 training images, 30 epochs, same seed: shifted/rotated copies add test accuracy
    (measured over seeds 0-2: 94.43% -> 96.26%)."""
    spec = f"mnist:{mnist_dir}?per_class=100"
    scores = {}
    for policy in ("none", "auto"):
        run = runs.train("mnist_cnn", spec, epochs=30, augment=policy, runs_dir=tmp_path, progress=False)
        scores[policy] = run.evaluate("test").accuracy
    assert scores["none"] >= 0.90
    assert scores["auto"] > scores["none"], scores


@pytest.mark.slow
def test_rotation_pretraining_beats_scratch_on_100_mnist_labels(mnist_dir, tmp_path):
    """benchmarks/pretrain_table.py's comparison, seed for seed: for seeds 0-2, mnist_cnn
    pre-trained on the rotation task (2 epochs on the 60,000 unlabelled images, that seed) and
    fine-tuned on that seed's draw of 10 labels per class beats training from scratch on the
    same draw, on average (measured: 84.31% -> 86.61%). One shared backbone is not enough: it
    tied scratch (84.30% vs 84.34%) -- with 10 validation images the epoch kept is noisy."""
    scratch, tuned = [], []
    for seed in (0, 1, 2):
        common = {"seed": seed, "runs_dir": tmp_path, "progress": False}
        backbone = runs.pretrain("mnist_cnn", f"mnist:{mnist_dir}", epochs=2, **common)
        assert backbone.best_value >= 0.7  # the pretext task itself is learnt (88% measured)
        labelled = f"mnist:{mnist_dir}?per_class=10"
        scratch.append(runs.train("mnist_cnn", labelled, epochs=50, **common).evaluate("test").accuracy)
        tuned.append(runs.finetune(backbone.path, labelled, epochs=50, **common).evaluate("test").accuracy)
    assert statistics.mean(tuned) > statistics.mean(scratch), (tuned, scratch)


@pytest.mark.slow
def test_finetuned_efficientnet_lite0_beats_scratch_cnns_on_automobile_vs_truck(tmp_path):
    """CIFAR-10 automobile vs truck with 100 training images per class: the fine-tuned
    ImageNet EfficientNet-Lite0 is at least 15 points above the better of two zoo CNNs trained
    from scratch on the same images for 30 epochs."""
    if not (CIFAR / "train" / "truck").is_dir():
        pytest.skip(f"CIFAR-10 JPEG folders are absent from {CIFAR} (set $DEEPSCOPE_CIFAR; see shared/data/README.md)")
    spec = f"images:{CIFAR}?classes=automobile,truck&per_class=100"
    tuned = runs.finetune("efficientnet_lite0", spec, runs_dir=tmp_path, progress=False).evaluate("test").accuracy
    scratch = max(
        runs.train(name, spec, epochs=30, runs_dir=tmp_path, progress=False).evaluate("test").accuracy
        for name in ("mnist_cnn", "lecture_cnn")
    )
    assert tuned >= scratch + 0.15, (tuned, scratch)


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="not met yet: the frozen MiniLM recipe scores 76.00% ± 0.30 and end-to-end fine-tuning 80.95% ± 3.43 "
    "vs imdb_fasttext's 82.55% ± 1.30 (benchmarks/text_encoder_table.py, docs/small-data.md)",
)
def test_minilm_beats_scratch_text_models_on_2000_imdb_reviews(tmp_path):
    """IMDB with 1,000 labelled reviews per class, scored on a fixed 2,000-review test subset:
    the frozen MiniLM encoder with a trained head beats the from-scratch text models."""
    if not (IMDB / "train" / "pos").is_dir():
        pytest.skip(f"aclImdb is absent from {IMDB} (set $DEEPSCOPE_IMDB; see shared/data/README.md)")
    spec = f"imdb:{IMDB}?per_class=1000&test_per_class=1000"
    encoder = runs.finetune("minilm", spec, runs_dir=tmp_path, progress=False).evaluate("test").accuracy
    scratch = {
        name: runs.train(name, spec, runs_dir=tmp_path, progress=False).evaluate("test").accuracy
        for name in ("imdb_fasttext", "imdb_cnn")
    }
    assert encoder >= 0.75 and encoder > max(scratch.values()), (encoder, scratch)
