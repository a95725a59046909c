"""Training figures: learning curves, confusion matrix, prediction grid, atomic PNG saving."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from deepscope.errors import InvalidArgumentError
from deepscope.plots import confusion_matrix_figure, learning_curves, prediction_grid, prediction_order, save_figure
from deepscope.plots.training import CORRECT_COLOR, MISTAKE_COLOR

HISTORY = [
    {"epoch": 1, "loss": 1.5, "accuracy": 0.50, "val_loss": 1.2, "val_accuracy": 0.60, "lr": 1e-3, "time": 0.2},
    {"epoch": 2, "loss": 0.9, "accuracy": 0.75, "val_loss": 0.8, "val_accuracy": 0.78, "lr": 1e-3, "time": 0.2},
    {"epoch": 3, "loss": 0.5, "accuracy": 0.90, "val_loss": 0.7, "val_accuracy": 0.77, "lr": 1e-3, "time": 0.2},
]


def _lines(ax) -> dict[str, list[float]]:
    return {line.get_label(): list(line.get_ydata()) for line in ax.get_lines()}


def test_learning_curves_draws_loss_and_accuracy_for_train_and_val():
    fig = learning_curves(HISTORY, best_epoch=2)
    assert isinstance(fig, Figure)
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_title() == "loss" and acc_ax.get_title() == "accuracy"
    assert _lines(loss_ax)["train"] == [1.5, 0.9, 0.5]
    assert _lines(loss_ax)["validation"] == [1.2, 0.8, 0.7]
    assert _lines(acc_ax)["validation"] == [0.60, 0.78, 0.77]
    assert list(_lines(acc_ax)["best epoch (2)"]) == [0, 1]  # the dashed vertical line spans the axes
    assert list(acc_ax.get_lines()[-1].get_xdata()) == [2, 2]


def test_learning_curves_without_validation_and_for_regression():
    history = [{"epoch": e, "loss": 1.0 / e, "mae": 2.0 / e} for e in (1, 2)]
    fig = learning_curves(history)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "mae"]
    assert set(_lines(fig.axes[1])) == {"train"}  # nothing to draw for validation
    assert _lines(fig.axes[1])["train"] == [2.0, 1.0]


@pytest.mark.parametrize(
    "bad, needle", [([], "`history` must be a non-empty list"), ([{"epoch": 1, "acc": 0.5}], "with a 'loss' entry")]
)
def test_learning_curves_rejects_bad_history(bad, needle):
    with pytest.raises(InvalidArgumentError, match=needle):
        learning_curves(bad)


def test_learning_curves_rejects_unknown_metric():
    with pytest.raises(InvalidArgumentError, match="`metric` must be one of the history's entries"):
        learning_curves(HISTORY, metric="f1")


def test_confusion_matrix_writes_counts_and_colours_by_share_of_true_class():
    confusion = [[8, 2, 0], [1, 4, 0], [0, 0, 5]]
    fig = confusion_matrix_figure(confusion, ["cat", "dog", "bird"])
    ax = fig.axes[0]
    assert ax.get_title() == "Confusion matrix: 17 of 20 correct"
    texts = {(t.get_position(), t.get_text()) for t in ax.texts}
    assert ((1, 0), "2") in texts and ((0, 1), "1") in texts and ((2, 2), "5") in texts
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cat", "dog", "bird"]
    shade = ax.images[0].get_array()
    np.testing.assert_allclose(shade[0], [0.8, 0.2, 0.0])
    np.testing.assert_allclose(shade[1], [0.2, 0.8, 0.0])


def test_confusion_matrix_raw_counts_and_bad_input():
    fig = confusion_matrix_figure(np.array([[3, 1], [0, 2]]), ["a", "b"], normalize=None)
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), [[3, 1], [0, 2]])
    with pytest.raises(InvalidArgumentError, match=r"`confusion` must be a 3x3 matrix.*shape \(2, 2\)"):
        confusion_matrix_figure([[1, 0], [0, 1]], ["a", "b", "c"])
    with pytest.raises(InvalidArgumentError, match="`normalize` must be 'true', 'pred', 'all' or None"):
        confusion_matrix_figure([[1]], ["a"], normalize="rows")


def test_prediction_order_puts_confident_mistakes_first():
    y_true = np.array([0, 1, 2, 0, 1])
    y_pred = np.array([0, 2, 2, 1, 1])  # samples 1 and 3 are wrong
    confidence = np.array([0.9, 0.6, 0.8, 0.95, 0.7])
    assert prediction_order(y_true, y_pred, confidence).tolist() == [3, 1, 0, 2, 4]
    assert prediction_order(y_true, y_pred, confidence, mistakes_first=False).tolist() == [0, 1, 2, 3, 4]


def test_prediction_grid_titles_mistakes_first_in_red():
    images = torch.rand(6, 1, 8, 8)
    y_true = torch.tensor([0, 1, 2, 0, 1, 2])
    y_pred = torch.tensor([0, 2, 2, 1, 1, 2])  # samples 1 and 3 are wrong
    probs = torch.full((6, 3), 0.1)
    probs[torch.arange(6), y_pred] = torch.tensor([0.8, 0.55, 0.8, 0.75, 0.8, 0.8])
    fig = prediction_grid(images, y_true, y_pred, probs, ["zero", "one", "two"], columns=3)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(fig.axes) == 6 and len(shown) == 6
    titles = [ax.get_title() for ax in shown]
    assert titles[0] == "one (0.75)\ntrue zero"  # the more confident mistake
    assert titles[1] == "two (0.55)\ntrue one"
    assert titles[2] == "zero (0.80)\ntrue zero"
    colors = [to_hex(ax.title.get_color()) for ax in shown]
    assert colors == [MISTAKE_COLOR] * 2 + [CORRECT_COLOR] * 4
    assert "2 of 6 wrong" in fig.get_suptitle()


def test_prediction_grid_limits_to_n_and_handles_rgb_arrays():
    images = np.random.default_rng(0).normal(size=(10, 3, 4, 4)).astype(np.float32)  # outside [0, 1]
    labels = np.arange(10) % 2
    fig = prediction_grid(images, labels, labels, np.ones(10), ["$a", "b"], n=4, columns=4)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 4
    assert shown[0].images[0].get_array().shape == (4, 4, 3)
    assert float(shown[0].images[0].get_array().min()) >= 0.0
    fig.canvas.draw()  # '$' in a class name must not be read as mathtext


def test_prediction_grid_rejects_mismatched_lengths_and_labels():
    with pytest.raises(InvalidArgumentError, match="one entry per image"):
        prediction_grid(np.zeros((3, 1, 4, 4)), [0, 1], [0, 1], [1.0, 1.0], ["a", "b"])
    with pytest.raises(InvalidArgumentError, match=r"`y_pred` must be class indices in \[0, 1\]"):
        prediction_grid(np.zeros((2, 1, 4, 4)), [0, 1], [0, 5], [1.0, 1.0], ["a", "b"])


def test_save_figure_writes_a_png_atomically(tmp_path):
    path = save_figure(learning_curves(HISTORY), tmp_path / "sub" / "curves.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in path.parent.iterdir()] == ["curves.png"]  # no temporary file left behind
    with pytest.raises(InvalidArgumentError, match="`path` must be a file name ending in .png"):
        save_figure(learning_curves(HISTORY), tmp_path / "curves.jpg")
