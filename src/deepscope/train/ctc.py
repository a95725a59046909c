"""The ``ctc`` task: reading a sequence of characters off an input without knowing where each
one is (Graves et al. 2006, "Connectionist Temporal Classification"), as in Keras' image_ocr.

The model outputs logits (N, T, K + 1) per time step: index 0 is the *blank*, index k the
k-th class (``data.classes[k - 1]``). Targets are labels (N, L) in 1..K, padded at the end
with 0. A path through the T steps spells a word once repeats are merged and blanks dropped
("-aa-b" -> "ab"); the CTC loss is minus the log of the total probability of the paths that
spell the target, summed by torch's ``F.ctc_loss`` (dynamic programming).

- ``loss``: nats per word, averaged over the batch (Keras' ``ctc_batch_cost``, per-sample
  costs averaged). torch's ``reduction='mean'`` would first divide each word's loss by its
  length, weighting the characters of short words more; we do not.
- ``edit_distance``: the mean *normalised* edit distance of the greedy readings, i.e.
  Levenshtein distance / target length per word (lower is better; 0.05 means about one
  character in twenty wrong); ``accuracy``: the share of words read exactly.
- :meth:`CTC.evaluate` adds the same two scores after a prefix beam search and a panel of
  test images labelled "truth → prediction", mistakes first.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from deepscope.errors import DataError, invalid
from deepscope.train.devices import device_of
from deepscope.train.evaluate import Panel, TaskEvaluation
from deepscope.train.tasks import Task

if TYPE_CHECKING:
    from deepscope.data import Dataset

__all__ = [
    "BEAM_WIDTH",
    "CTC",
    "beam_decode",
    "ctc_loss",
    "edit_distance",
    "edit_distances",
    "greedy_decode",
    "greedy_labels",
    "needed_steps",
]

BEAM_WIDTH = 10  # prefixes kept by the evaluation's beam search
PRUNE = 1e-3  # characters less likely than this at a step are not tried there (beam search)
SHOWN = 24  # test images in the report's panel


# ----------------------------------------------------------------------------- loss
def ctc_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """CTC negative log-likelihood of each word: logits (N, T, K + 1), blank 0; targets (N, L)
    in 1..K padded with 0 -> (N,) nats. Every one of the T steps is read (no input lengths).

    ``zero_infinity=True``: a word that cannot be aligned at all (more characters plus
    repeats than T steps) has infinite loss and NaN gradients that would spoil every weight
    in one step; :meth:`CTC.prepare` refuses such data up front, and this keeps a stray one
    (a caller outside the trainer, say) at zero loss and zero gradient instead."""
    log_probs = logits.float().log_softmax(dim=-1).transpose(0, 1)  # (T, N, K + 1), time first
    steps, n = log_probs.shape[:2]
    input_lengths = torch.full((n,), steps, dtype=torch.long, device=logits.device)
    target_lengths = (targets > 0).sum(dim=1)  # (N,): the padding is at the end
    return F.ctc_loss(
        log_probs, targets, input_lengths, target_lengths, blank=0, reduction="none", zero_infinity=True
    )  # (N,)


def needed_steps(targets: torch.Tensor) -> torch.Tensor:
    """The fewest time steps that can spell each target (N, L): its length plus one blank
    between each pair of equal neighbours ("aab" needs "a-ab", 4 steps) -> (N,)."""
    lengths = (targets > 0).sum(dim=1)
    repeats = ((targets[:, 1:] == targets[:, :-1]) & (targets[:, 1:] > 0)).sum(dim=1)
    return lengths + repeats


# ----------------------------------------------------------------------------- decoding
def greedy_labels(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Best-path decoding of logits (N, T, K + 1) on their device, without a host sync: the most
    likely class per step, repeats merged, blanks dropped. Returns labels (N, T) left-aligned
    and padded with 0, and their lengths (N,)."""
    best = logits.argmax(dim=-1)  # (N, T)
    keep = best != 0
    keep[:, 1:] &= best[:, 1:] != best[:, :-1]  # a repeat is one character unless a blank splits it
    order = torch.argsort((~keep).to(torch.int8), dim=1, stable=True)  # kept steps first, in time order
    lengths = keep.sum(dim=1)  # (N,)
    labels = best.gather(1, order)  # (N, T)
    labels = labels * (torch.arange(labels.shape[1], device=labels.device) < lengths[:, None])
    return labels, lengths


def greedy_decode(logits: torch.Tensor) -> list[list[int]]:
    """Best-path decoding of logits (N, T, K + 1): per sample the labels (1..K) read off the
    most likely class at each step, repeats merged and blanks (0) dropped."""
    labels, lengths = greedy_labels(logits)
    return [row[:n] for row, n in zip(labels.tolist(), lengths.tolist())]


def beam_decode(logits: torch.Tensor, beam_width: int = BEAM_WIDTH, prune: float = PRUNE) -> list[list[int]]:
    """CTC prefix beam search (Hannun et al. 2014, "First-pass large vocabulary continuous
    speech recognition using bi-directional recurrent DNNs", Algorithm 1, without a language
    model) over logits (N, T, K + 1): per sample the labels of the most probable *word*, summed
    over all the paths that spell it -- which greedy decoding, following one path, can miss.

    Each step keeps the ``beam_width`` most probable prefixes, tracking for each the
    probability of the paths that end in a blank and of those that end in its last label. At
    each step only the ``beam_width`` most likely labels are tried, and of those only the ones
    with probability ``prune`` or more (0: all of them). With a beam wide enough to hold every
    prefix the search is exact.

    Written here because torchaudio, whose ``ctc_decoder`` does this, is not a dependency
    (its wheels are pinned to one torch release each). Probabilities are renormalised at
    every step, which keeps long inputs from underflowing without changing the ranking."""
    if isinstance(beam_width, bool) or not isinstance(beam_width, int) or beam_width < 1:
        raise invalid("beam_width", "a positive int", beam_width)
    if isinstance(prune, bool) or not isinstance(prune, (int, float)) or not 0 <= prune < 1:
        raise invalid("prune", "a float in [0, 1)", prune)
    probs = logits.detach().float().softmax(dim=-1).cpu().double().numpy()  # (N, T, K + 1)
    return [_beam_one(p, beam_width, prune) for p in probs]


def _beam_one(probs: np.ndarray, beam_width: int, prune: float) -> list[int]:
    """Prefix beam search over one sample's probabilities (T, K + 1) (plain Python floats in
    the loop: numpy scalars would make it several times slower)."""
    likely = np.argsort(-probs, axis=1, kind="stable")[:, :beam_width].tolist()  # (T, beam_width)
    beams: dict[tuple[int, ...], list[float]] = {(): [1.0, 0.0]}  # prefix -> [p ends in blank, p ends in label]
    for p, order in zip(probs.tolist(), likely):
        tried = [k for k in order if p[k] >= prune] or order[:1]
        grown: dict[tuple[int, ...], list[float]] = {}
        for prefix, (blank, label) in beams.items():
            last = prefix[-1] if prefix else -1
            for k in tried:
                pk = p[k]
                if k == 0:  # a blank: the prefix stays, now ending in a blank
                    _add(grown, prefix, 0, (blank + label) * pk)
                elif k == last:  # the same label again: merged, unless a blank came between
                    _add(grown, prefix, 1, label * pk)
                    _add(grown, (*prefix, k), 1, blank * pk)
                else:
                    _add(grown, (*prefix, k), 1, (blank + label) * pk)
        kept = heapq.nlargest(beam_width, grown.items(), key=lambda item: item[1][0] + item[1][1])
        total = sum(b + n for _, (b, n) in kept) or 1.0
        beams = {prefix: [b / total, n / total] for prefix, (b, n) in kept}
    return list(max(beams.items(), key=lambda item: item[1][0] + item[1][1])[0])


def _add(beams: dict[tuple[int, ...], list[float]], prefix: tuple[int, ...], end: int, probability: float) -> None:
    entry = beams.get(prefix)
    if entry is None:
        beams[prefix] = entry = [0.0, 0.0]
    entry[end] += probability


# ----------------------------------------------------------------------------- edit distance
def edit_distances(
    predicted: torch.Tensor, predicted_lengths: torch.Tensor, targets: torch.Tensor, target_lengths: torch.Tensor
) -> torch.Tensor:
    """Levenshtein distances (insertions, deletions and substitutions cost 1) between the rows
    of ``predicted`` (N, P) and ``targets`` (N, L), each row read up to its length -> (N,),
    computed for the whole batch at once on its device.

    Hand-written because none of the installed libraries computes a batch of distances on
    tensors (torchmetrics' ``edit_distance``, the tests' reference, loops over strings in
    Python). The dynamic programme runs row by row over the predicted labels; within a row the
    insertion chain d[i][j] = min(e[j], d[i][j-1] + 1) is a running minimum,
    d[i][j] = j + min_{k<=j}(e[k] - k), which ``cummin`` takes in one call."""
    n, steps = predicted.shape
    columns = torch.arange(targets.shape[1] + 1, device=targets.device)  # (L + 1,)
    row = columns.expand(n, -1).clone()  # d[0][j] = j
    final = row.clone()  # each sample's row i = its predicted length
    for i in range(1, steps + 1):
        substitute = row[:, :-1] + (predicted[:, i - 1 : i] != targets).long()  # (N, L): d[i-1][j-1] + cost
        delete = row[:, 1:] + 1  # d[i-1][j] + 1
        best = torch.cat([row[:, :1] + 1, torch.minimum(substitute, delete)], dim=1)  # (N, L + 1)
        row = (best - columns).cummin(dim=1).values + columns  # insertions along the row
        final = torch.where((predicted_lengths == i)[:, None], row, final)
    return final.gather(1, target_lengths[:, None].long()).squeeze(1)  # (N,)


def edit_distance(a: str | list[int], b: str | list[int]) -> int:
    """The Levenshtein distance between two strings or label sequences."""
    a_ids = [ord(c) for c in a] if isinstance(a, str) else list(a)
    b_ids = [ord(c) for c in b] if isinstance(b, str) else list(b)
    return int(edit_distances(*_padded([a_ids]), *_padded([b_ids]))[0])


def _padded(readings: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Label sequences -> (labels (N, P) padded with 0, lengths (N,)); P >= 1."""
    lengths = torch.tensor([len(r) for r in readings], dtype=torch.long)
    labels = torch.zeros((len(readings), max(int(lengths.max()) if len(readings) else 0, 1)), dtype=torch.long)
    for i, r in enumerate(readings):
        labels[i, : len(r)] = torch.tensor(r, dtype=torch.long)
    return labels, lengths


def _normalised(distances: torch.Tensor, target_lengths: torch.Tensor) -> torch.Tensor:
    """Edit distances (N,) over target lengths (an empty target counts as length 1)."""
    return distances.float() / target_lengths.clamp_min(1).float()


# ----------------------------------------------------------------------------- the task
class CTC(Task):
    """Connectionist temporal classification: logits (N, T, K + 1), blank 0, against labels
    (N, L) in 1..K padded with 0 (module docstring)."""

    name = "ctc"
    higher_is_better = {"loss": False, "edit_distance": False, "accuracy": True}

    def prepare(self, model: nn.Module, data: Dataset) -> None:
        """Check the targets (2-D integer labels in 0..K, padding only at the end) and that the
        model's T steps and K + 1 outputs fit them (one forward pass of a blank input)."""
        if data.classes is None:
            raise DataError(f"The ctc task reads labels named by the data's classes; {data.name!r} has none.")
        k = len(data.classes)
        targets = [data.split(s).tensors[1] for s in ("train", "val", "test") if len(data.split(s))]
        y = torch.cat(targets) if targets else torch.zeros((0, 1), dtype=torch.long)
        if y.ndim != 2 or y.is_floating_point() or y.is_complex():
            raise DataError(
                f"CTC targets must be integer labels (N, L) padded with 0. Received: {tuple(y.shape)} {y.dtype} "
                f"in {data.name!r}."
            )
        if len(y) and (int(y.min()) < 0 or int(y.max()) > k):
            raise DataError(f"CTC labels of {data.name!r} must be in 0..{k} (0 pads). Received: {int(y.max())}.")
        if bool(((y[:, 1:] > 0) & (y[:, :-1] == 0)).any()):
            raise DataError(f"CTC targets of {data.name!r} must be padded with 0 at the end only.")
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                out = model(torch.zeros((1, *data.input_shape), device=device_of(model)))
        finally:
            model.train(was_training)
        if out.ndim != 3 or out.shape[2] != k + 1:
            raise DataError(
                f"A CTC model outputs logits (N, T, classes + 1 = {k + 1}), blank first; this one outputs "
                f"{tuple(out.shape)} for {data.name!r}."
            )
        need = int(needed_steps(y).max()) if len(y) else 0
        if need > out.shape[1]:
            raise DataError(
                f"The model reads {out.shape[1]} time steps, but some targets of {data.name!r} need {need} "
                "(their length plus a blank between repeated labels). Use wider inputs or shorter targets."
            )

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return ctc_loss(output, target).mean()

    def batch_sums(self, output: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        labels, lengths = greedy_labels(output)
        target_lengths = (target > 0).sum(dim=1)
        distance = edit_distances(labels, lengths, target, target_lengths)  # (N,)
        return {"edit_distance": _normalised(distance, target_lengths).sum(), "accuracy": (distance == 0).sum()}

    @torch.inference_mode()
    def evaluate(self, model: nn.Module, data: Dataset, split: str = "test", batch_size: int = 256) -> TaskEvaluation:
        """Loss, mean normalised edit distance and word accuracy of greedy and beam-search
        readings; a panel of images labelled "truth → prediction" (greedy), mistakes first."""
        x, y = data.split(split).tensors[:2]
        if not len(x):
            raise DataError(f"The {split} split of {data.name!r} is empty: nothing to evaluate.")
        classes = data.classes or []
        was_training = model.training
        model.eval()
        device = device_of(model)
        losses, greedy, beam = [], [], []
        try:
            for start in range(0, len(x), batch_size):
                logits = model(x[start : start + batch_size].to(device)).float().cpu()  # (n, T, K + 1)
                losses.append(ctc_loss(logits, y[start : start + batch_size]))
                greedy += greedy_decode(logits)
                beam += beam_decode(logits)
        finally:
            model.train(was_training)
        truth = [row[row > 0].tolist() for row in y]
        target_lengths = (y > 0).sum(dim=1)
        scores = {"loss": float(torch.cat(losses).mean())}
        for prefix, readings in (("", greedy), ("beam_", beam)):
            distance = edit_distances(*_padded(readings), y, target_lengths)  # (N,)
            scores[f"{prefix}edit_distance"] = float(_normalised(distance, target_lengths).mean())
            scores[f"{prefix}accuracy"] = float((distance == 0).float().mean())

        def text(labels: list[int]) -> str:  # spaces shown as '␣' so that they can be seen
            return "".join(classes[k - 1] if 0 < k <= len(classes) else "?" for k in labels).replace(" ", "␣")

        wrong = [i for i in range(len(x)) if greedy[i] != truth[i]]
        shown = (wrong + [i for i in range(len(x)) if greedy[i] == truth[i]])[:SHOWN]
        panel = Panel(
            "readings",
            "Test words",
            f"{split.capitalize()} images labelled 'truth → prediction' (greedy decoding; spaces shown as ␣), "
            "mistakes first.",
            "images",
            x[shown].float().clamp(0, 1).numpy(),
            labels=[f"{text(truth[i])} → {text(greedy[i])}" for i in shown],
            columns=4,
        )
        return TaskEvaluation(
            task=self.name,
            split=split,
            samples=len(x),
            loss=scores["loss"],
            scores=scores,
            cards=[
                ("mean normalised edit distance (greedy)", "edit_distance"),
                (f"mean normalised edit distance (beam search, width {BEAM_WIDTH})", "beam_edit_distance"),
                ("word accuracy (greedy)", "accuracy"),
                (f"word accuracy (beam search, width {BEAM_WIDTH})", "beam_accuracy"),
                ("CTC loss (nats/word)", "loss"),
            ],
            lines=[
                f"mean normalised edit distance {scores['edit_distance']:.4f} greedy, "
                f"{scores['beam_edit_distance']:.4f} beam search (width {BEAM_WIDTH}); words read exactly: "
                f"{scores['accuracy']:.1%} greedy, {scores['beam_accuracy']:.1%} beam"
            ],
            panels=[panel],
            higher_is_better={
                "edit_distance": False,
                "beam_edit_distance": False,
                "accuracy": True,
                "beam_accuracy": True,
            },
        )
