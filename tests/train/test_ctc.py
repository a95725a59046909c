"""The CTC task: loss against a brute-force sum over alignments, greedy and beam decoding on
hand-made sequences, batched edit distances against the textbook programme, the task's
checks, metrics and evaluation."""

from __future__ import annotations

import itertools
import math
import random

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset

from deepscope.data import Dataset
from deepscope.errors import DataError, InvalidArgumentError
from deepscope.train.ctc import (
    CTC,
    beam_decode,
    ctc_loss,
    edit_distance,
    edit_distances,
    greedy_decode,
    greedy_labels,
    needed_steps,
)


def _logits(path: list[int], classes: int = 4, confidence: float = 5.0) -> torch.Tensor:
    """Logits (T, classes) whose most likely class at step t is ``path[t]``."""
    return F.one_hot(torch.tensor(path), classes).float() * confidence


def _collapse(path: tuple[int, ...]) -> tuple[int, ...]:
    """CTC's many-to-one map: merge repeats, drop blanks (0)."""
    return tuple(k for k, _ in itertools.groupby(path) if k != 0)


# ----------------------------------------------------------------------------- loss
def _brute_force_nll(logits: torch.Tensor, target: list[int]) -> torch.Tensor:
    """-log of the summed probability of every path (T steps) that collapses to ``target``."""
    log_probs = logits.log_softmax(dim=-1)  # (T, C)
    steps, classes = log_probs.shape
    spelled = [
        sum(log_probs[t, k] for t, k in enumerate(path))
        for path in itertools.product(range(classes), repeat=steps)
        if _collapse(path) == tuple(target)
    ]
    return -torch.logsumexp(torch.stack(spelled), dim=0)


@pytest.mark.parametrize("target", [[1], [1, 2], [2, 2], [1, 2, 1], [3]])
def test_ctc_loss_and_its_gradient_equal_the_sum_over_alignments(target):
    torch.manual_seed(0)
    logits = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)  # T=3, blank + 3 classes
    reference = _brute_force_nll(logits, target)
    (grad_reference,) = torch.autograd.grad(reference, logits)
    padded = torch.tensor([target + [0] * (3 - len(target))])  # (1, 3), 0 pads
    loss = ctc_loss(logits[None].float(), padded)  # (1,)
    (grad,) = torch.autograd.grad(loss.sum(), logits)
    assert loss.shape == (1,)
    assert float(loss[0].detach()) == pytest.approx(float(reference.detach()), rel=1e-5)
    assert torch.allclose(grad, grad_reference, atol=1e-5)


def test_ctc_loss_is_per_word_nats_averaged_by_the_task():
    torch.manual_seed(1)
    logits = torch.randn(2, 5, 4)
    targets = torch.tensor([[1, 2, 3], [2, 0, 0]])
    per_word = ctc_loss(logits, targets)
    expected = torch.stack([_brute_force_nll(logits[0].double(), [1, 2, 3]), _brute_force_nll(logits[1].double(), [2])])
    assert torch.allclose(per_word.double(), expected, rtol=1e-5)
    mean = float(expected.mean())  # averaged over words, not divided by their lengths first
    assert float(CTC().loss(logits, targets)) == pytest.approx(mean, rel=1e-5)


def test_an_unalignable_word_has_zero_loss_not_nan():
    logits = torch.randn(1, 2, 3, requires_grad=True)
    loss = ctc_loss(logits, torch.tensor([[1, 1]]))  # "aa" needs 3 steps ("a-a"), there are 2
    loss.sum().backward()
    assert float(loss[0].detach()) == 0.0 and torch.isfinite(logits.grad).all()
    assert needed_steps(torch.tensor([[1, 1, 2, 0], [1, 2, 1, 0], [3, 3, 3, 3]])).tolist() == [4, 3, 7]


# ----------------------------------------------------------------------------- decoding
@pytest.mark.parametrize(
    "path, word",
    [
        ([1, 1, 2], [1, 2]),  # "aab" -> "ab": repeats merge
        ([0, 1, 1, 0, 1, 2, 2, 0], [1, 1, 2]),  # "-aa-abb-" -> "aab": a blank splits a repeat
        ([0, 0, 0], []),
        ([3, 0, 3, 3, 1], [3, 3, 1]),
    ],
)
def test_greedy_decoding_merges_repeats_and_drops_blanks(path, word):
    logits = _logits(path)[None]  # (1, T, 4)
    assert greedy_decode(logits) == [word]
    assert beam_decode(logits, beam_width=4) == [word]  # one confident path: the beam agrees


def test_greedy_labels_are_left_aligned_and_padded():
    logits = torch.stack([_logits([1, 1, 0, 2]), _logits([0, 3, 0, 0])])  # (2, 4, 4)
    labels, lengths = greedy_labels(logits)
    assert labels.tolist() == [[1, 2, 0, 0], [3, 0, 0, 0]] and lengths.tolist() == [2, 1]


def test_beam_search_finds_the_word_that_greedy_decoding_misses():
    # two steps, p(blank) = 0.6 and p(a) = 0.4 at each: the best path is "--" (0.36), but the
    # word "a" is spelled by "aa", "a-" and "-a": 0.16 + 0.24 + 0.24 = 0.64
    logits = torch.tensor([[0.6, 0.4], [0.6, 0.4]]).log()[None]
    assert greedy_decode(logits) == [[]]
    assert beam_decode(logits, beam_width=2) == [[1]]


def test_beam_search_returns_the_most_probable_word():
    torch.manual_seed(3)
    logits = torch.randn(6, 4, 3) * 2  # 6 samples, T=4, blank + 2 classes
    for sample, found in zip(logits, beam_decode(logits, beam_width=50, prune=0.0)):
        probs = sample.double().softmax(dim=-1)
        words: dict[tuple[int, ...], float] = {}
        for path in itertools.product(range(3), repeat=4):
            word = _collapse(path)
            words[word] = words.get(word, 0.0) + math.prod(float(probs[t, k]) for t, k in enumerate(path))
        assert tuple(found) == max(words, key=words.get)


def test_beam_decode_checks_its_arguments():
    with pytest.raises(InvalidArgumentError, match="`beam_width` must be a positive int. Received: beam_width=0"):
        beam_decode(torch.zeros(1, 2, 3), beam_width=0)
    with pytest.raises(InvalidArgumentError, match="`prune` must be a float in"):
        beam_decode(torch.zeros(1, 2, 3), prune=1.5)


# ----------------------------------------------------------------------------- edit distance
@pytest.mark.parametrize(
    "a, b, distance",
    [("kitten", "sitting", 3), ("flaw", "lawn", 2), ("", "abc", 3), ("abc", "", 3), ("", "", 0), ("ab", "ab", 0)],
)
def test_edit_distance_on_known_pairs(a, b, distance):
    assert edit_distance(a, b) == distance
    assert edit_distance([ord(c) for c in a], [ord(c) for c in b]) == distance


def _levenshtein(a: str, b: str) -> int:
    """The textbook dynamic programme, one cell at a time (Wagner & Fischer 1974)."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i, j in itertools.product(range(1, len(a) + 1), range(1, len(b) + 1)):
        d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
    return d[-1][-1]


def test_batched_edit_distances_match_the_textbook_programme():
    # (torchmetrics' edit_distance agrees too, but importing it takes seconds)
    rng = random.Random(0)
    a = ["".join(rng.choice("abc ") for _ in range(rng.randint(0, 9))) for _ in range(300)]
    b = ["".join(rng.choice("abc ") for _ in range(rng.randint(0, 7))) for _ in range(300)]

    def pad(words: list[str], width: int) -> torch.Tensor:
        return torch.tensor([[ord(c) for c in w] + [0] * (width - len(w)) for w in words])

    ours = edit_distances(pad(a, 9), torch.tensor([len(w) for w in a]), pad(b, 7), torch.tensor([len(w) for w in b]))
    assert ours.tolist() == [_levenshtein(x, y) for x, y in zip(a, b)]


# ----------------------------------------------------------------------------- the task
class _Echo(nn.Module):
    """A stand-in model whose input *is* its best path: x (N, 1, 1, T) of class indices ->
    confident logits (N, T, classes + 1)."""

    def __init__(self, classes: int) -> None:
        super().__init__()
        self.classes = classes
        self.scale = nn.Parameter(torch.tensor(5.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.one_hot(x[:, 0, 0].long(), self.classes + 1).float() * self.scale


def _echo_data(paths: list[list[int]], targets: list[list[int]], classes: str = "abc") -> Dataset:
    x = torch.tensor(paths, dtype=torch.float32)[:, None, None, :]  # (N, 1, 1, T)
    y = torch.tensor(targets)
    split = TensorDataset(x, y)
    return Dataset("echo", "image", tuple(x.shape[1:]), split, split, split, classes=list(classes), task="ctc")


def test_batch_sums_give_normalised_edit_distance_and_word_accuracy():
    paths = [[1, 0, 2, 2], [1, 2, 3, 0], [3, 3, 0, 0], [0, 0, 0, 0]]
    targets = [[1, 2, 0], [1, 2, 0], [3, 3, 0], [2, 0, 0]]  # read: "ab", "abc", "c", ""
    data = _echo_data(paths, targets)
    task = CTC()
    sums = task.batch_sums(_Echo(3)(data.train.tensors[0]), data.train.tensors[1])
    # distances / lengths: 0/2, 1/2, 1/2, 1/1 -> sum 2.0; one word read exactly
    assert float(sums["edit_distance"]) == pytest.approx(2.0) and int(sums["accuracy"]) == 1
    assert task.higher_is_better["edit_distance"] is False and task.higher_is_better["accuracy"] is True


def test_prepare_refuses_targets_the_model_cannot_spell():
    task = CTC()
    task.prepare(_Echo(3), _echo_data([[1, 0, 1, 0]], [[1, 1]]))  # "aa" in 4 steps: fine
    with pytest.raises(DataError, match="reads 2 time steps, but some targets of 'echo' need 3"):
        task.prepare(_Echo(3), _echo_data([[1, 0]], [[1, 1]]))
    with pytest.raises(DataError, match=r"outputs logits \(N, T, classes \+ 1 = 4\)"):
        task.prepare(_Echo(4), _echo_data([[1, 0, 1]], [[1, 0]]))
    with pytest.raises(DataError, match="padded with 0 at the end only"):
        task.prepare(_Echo(3), _echo_data([[1, 0, 1]], [[0, 1]]))
    with pytest.raises(DataError, match=r"must be in 0..3"):
        task.prepare(_Echo(3), _echo_data([[1, 0, 1]], [[4, 0]]))


def test_evaluate_reports_greedy_and_beam_scores_and_shows_mistakes_first():
    paths = [[1, 0, 2, 0], [1, 2, 3, 0], [3, 0, 0, 0]]
    data = _echo_data(paths, [[1, 2, 0], [1, 2, 0], [3, 0, 0]])  # the second is read "abc", not "ab"
    result = CTC().evaluate(_Echo(3), data, "test")
    assert result.task == "ctc" and result.samples == 3
    assert result.scores["edit_distance"] == pytest.approx((0 + 0.5 + 0) / 3)
    assert result.scores["accuracy"] == pytest.approx(2 / 3)
    assert result.scores["beam_edit_distance"] == pytest.approx(result.scores["edit_distance"])
    assert result.higher_is_better["edit_distance"] is False
    panel = result.panels[0]
    assert panel.labels[0] == "ab → abc" and list(panel.labels[1:]) == ["ab → ab", "c → c"]
    assert panel.data.shape == (3, 1, 1, 4)
    assert "edit distance" in result.text()


def test_fit_monitors_val_edit_distance(tmp_path):
    import deepscope as ds

    paths = [[1, 0, 2, 0], [1, 2, 3, 0], [3, 0, 0, 0], [2, 2, 0, 0]] * 4
    data = _echo_data(paths, [[1, 2, 0], [1, 2, 3], [3, 0, 0], [2, 2, 0]] * 4)
    run = ds.fit(
        _Echo(3), data, epochs=2, batch_size=8, monitor="val_edit_distance", out=tmp_path / "run", progress=False
    )
    assert {"edit_distance", "accuracy", "val_edit_distance", "val_accuracy"} <= set(run.history[0])
    assert run.history[-1]["val_edit_distance"] == pytest.approx(1 / 8)  # "bb" is read "b": 1/2 for one word in 4
