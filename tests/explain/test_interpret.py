"""interpret(): confused pairs, top losses, per-class metrics and calibration on known answers."""

from __future__ import annotations

import numpy as np
import pytest

from deepscope.errors import InvalidArgumentError
from deepscope.explain import interpret


def one_hot_probs(pred, k, p):
    probs = np.full((len(pred), k), (1 - p) / (k - 1))
    probs[np.arange(len(pred)), pred] = p
    return probs


def test_confused_pairs_count_mistakes_per_true_and_predicted_class():
    y = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    pred = np.array([1, 1, 0, 1, 0, 2, 1, 1, 1])
    result = interpret(y, one_hot_probs(pred, 3, 0.8), ["cat", "dog", "fox"])
    pairs = result.confused_pairs(k=2)
    assert [(p.true, p.predicted, p.count) for p in pairs] == [("fox", "dog", 3), ("cat", "dog", 2)]
    assert pairs[0].share == pytest.approx(0.75)
    assert result.accuracy == pytest.approx(3 / 9)
    assert result.confusion().tolist() == [[1, 2, 0], [1, 1, 0], [0, 3, 1]]
    assert result.per_class()["dog"]["precision"] == pytest.approx(1 / 6)
    assert "fox -> dog: 3 (75.0% of fox)" in result.text()


def test_top_losses_are_the_most_confident_mistakes_first():
    y = np.array([0, 1, 0, 1])
    probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.05, 0.95], [0.2, 0.8]])
    result = interpret(y, probs, ["a", "b"])
    assert result.top_losses(3).tolist() == [2, 1, 3]
    np.testing.assert_allclose(result.losses, -np.log([0.9, 0.4, 0.05, 0.8]))


def test_ece_of_an_overconfident_model_is_its_gap():
    y = np.array([0, 1] * 50)
    probs = one_hot_probs(np.zeros(100, dtype=int), 2, 0.9)  # always 90% sure of class 0: right half the time
    cal = interpret(y, probs, ["a", "b"]).calibration()
    assert cal.ece == pytest.approx(0.4)
    assert cal.counts.sum() == 100 and cal.counts[8] == 100  # 0.9 falls in the (0.8, 0.9] bin
    assert np.isnan(cal.accuracy[0]) and cal.accuracy[8] == pytest.approx(0.5)


def test_ece_of_a_calibrated_model_is_small():
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.5, 1.0, 20000)
    correct = rng.uniform(size=20000) < confidence  # right exactly as often as it is sure
    y = np.where(correct, 0, 1)
    probs = np.stack([confidence, 1 - confidence], axis=1)
    assert interpret(y, probs, ["a", "b"]).calibration().ece < 0.02


@pytest.mark.parametrize(
    ("y", "probs", "message"),
    [
        ([0, 1], np.ones((2, 3)) / 3, r"`probs` must be a non-empty \(N, 2\) array"),
        ([0, 2], np.ones((2, 2)) / 2, r"`y_true` must be 2 integer labels in 0\.\.1"),
        ([0.0, 1.0], np.ones((2, 2)) / 2, r"`y_true` must be 2 integer labels"),
        ([0, 1], np.array([[np.nan, 1], [0.5, 0.5]]), r"`probs` must be finite probabilities"),
    ],
)
def test_bad_arrays_are_refused(y, probs, message):
    with pytest.raises(InvalidArgumentError, match=message):
        interpret(np.asarray(y), probs, ["a", "b"])
