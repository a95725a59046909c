"""One contract run over everything registered: zoo entries and built-in datasets.

Zoo entries get small named checks chosen by their task, as scikit-learn's
``estimator_checks`` yields checks by estimator type: ``_zoo_checks(meta)`` lists them, and
each (entry, check) pair is one test, named ``test_zoo_contract[<entry>-<check>]``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import torch
from torch import nn

from deepscope import data as data_module
from deepscope import zoo
from deepscope.nn import summary
from deepscope.zoo import ZooInfo

BATCH = 3


def _build(meta: ZooInfo, seed: int | None = 0) -> nn.Module:
    return zoo.create(
        meta.name, in_shape=meta.example_shape, num_classes=meta.example_classes, seed=seed, **meta.example_kwargs
    )


_PRISTINE: dict[str, nn.Module] = {}


def _pristine(meta: ZooInfo) -> nn.Module:
    """The entry built with seed 0, shared by the checks that leave it as it is (eval mode,
    no grad); a check that trains or differentiates builds its own."""
    if meta.name not in _PRISTINE:
        _PRISTINE[meta.name] = _build(meta).eval()
    return _PRISTINE[meta.name]


def _example_input(model: nn.Module, meta: ZooInfo, n: int = BATCH) -> torch.Tensor:
    """A seeded batch of the entry's example shape: token ids for models that embed tokens."""
    generator = torch.Generator().manual_seed(0)
    embeddings = [m.num_embeddings for m in model.modules() if isinstance(m, (nn.Embedding, nn.EmbeddingBag))]
    if embeddings:
        return torch.randint(0, min(embeddings), (n, *meta.example_shape), generator=generator)
    return torch.rand((n, *meta.example_shape), generator=generator)


# ----------------------------------------------------------------------------- checks, one property each
def check_declares_its_metadata(meta: ZooInfo) -> None:
    assert _pristine(meta).zoo_config["name"] == meta.name
    assert meta.reference.strip() and meta.description.strip()
    assert meta.task in OUTPUT_CHECKS
    declared = getattr(_pristine(meta), "task", None)  # a model that declares its task agrees with its entry
    assert declared in (None, meta.task), f"{meta.name}: model.task={declared!r}, entry task={meta.task!r}"


def check_classifier_outputs_one_logit_per_class(meta: ZooInfo) -> None:
    """Classification: logits (N, classes), which cross-entropy reads (softmax lives in the loss)."""
    _check_output_shape(meta, (BATCH, meta.example_classes))


# Regression targets as the datasets define them: a forecast is one value per horizon step
# (``series:`` sets, (N, horizon) = (N, classes)); next-frame prediction returns the frames,
# shaped like the input (``moving_squares``, (N, T, C, H, W)).
REGRESSION_TARGETS: dict[str, Callable[[ZooInfo], tuple[int, ...]]] = {
    "series": lambda meta: (BATCH, meta.example_classes),
    "sequence": lambda meta: (BATCH, *meta.example_shape),
}


def check_regressor_outputs_the_targets_shape(meta: ZooInfo) -> None:
    assert meta.kind in REGRESSION_TARGETS, f"declare the regression target shape of {meta.kind} entries here"
    _check_output_shape(meta, REGRESSION_TARGETS[meta.kind](meta))


def check_seq2seq_outputs_logits_per_step(meta: ZooInfo) -> None:
    """Seq2seq: logits (N, T_out, vocabulary) against token indices (N, T_out) (``train.tasks.Seq2Seq``)."""
    out = _check_output_shape(meta, None)
    assert out.ndim == 3 and out.shape[0] == BATCH and out.shape[1] >= 1 and out.shape[2] == meta.example_classes


def check_reconstruction_outputs_logits_shaped_like_the_input(meta: ZooInfo) -> None:
    """Reconstruction and density: Bernoulli logits (N, C, H, W), one per input pixel
    (``train.reconstruction``)."""
    _check_output_shape(meta, (BATCH, *meta.example_shape))


def check_generator_samples_repeatably_in_the_data_range(meta: ZooInfo) -> None:
    """Generation: ``generate(n, labels=None, generator=None)`` gives (n, C, H, W) in [0, 1],
    the same for the same seed; a conditional model takes one class per sample."""
    model = _pristine(meta)
    labels = torch.arange(BATCH) % meta.example_classes if getattr(model, "conditional", False) else None
    with torch.no_grad():
        first, again, other = (
            model.generate(BATCH, labels=labels, generator=torch.Generator().manual_seed(seed)) for seed in (0, 0, 1)
        )
    assert tuple(first.shape) == (BATCH, *meta.example_shape)
    assert float(first.min()) >= 0 and float(first.max()) <= 1
    assert torch.equal(first, again) and not torch.equal(first, other)


def check_pairs_output_one_distance_per_pair(meta: ZooInfo) -> None:
    """Pairs (metric learning): input (N, 2, C, H, W), one distance >= 0 per pair (``train.pairs``)."""
    out = _check_output_shape(meta, (BATCH,))
    assert bool((out >= 0).all())


def check_ctc_outputs_logits_per_time_step(meta: ZooInfo) -> None:
    """CTC: logits (N, T, classes + 1) per time step, index 0 the blank (``train.ctc``)."""
    out = _check_output_shape(meta, None)
    assert out.ndim == 3 and out.shape[0] == BATCH and out.shape[1] >= 2 and out.shape[2] == meta.example_classes + 1


def _example_data(meta: ZooInfo, model: nn.Module):
    """A tiny Dataset of the entry's shapes, with the targets its task reads."""
    from torch.utils.data import TensorDataset

    from deepscope.data import Dataset

    generator = torch.Generator().manual_seed(0)
    x = _example_input(model, meta, n=4)
    classes = [str(k) for k in range(meta.example_classes)]
    task = meta.task if meta.task in ("classification", "regression", "seq2seq", "pairs", "ctc") else "classification"
    if meta.task == "density":
        x = (x > 0.5).float()
    if task == "pairs":
        y = torch.tensor([1.0, 0.0, 1.0, 0.0])
    elif task == "ctc":
        y = torch.randint(1, meta.example_classes + 1, (4, 3), generator=generator)
        y[0, 2] = 0  # a shorter word: 0 pads
    elif task == "classification":
        y = torch.randint(0, meta.example_classes, (4,), generator=generator)
    else:
        with torch.no_grad():
            y = torch.randn_like(model.eval()(x).float())
    split = TensorDataset(x, y)
    return Dataset(
        f"{meta.name}-example", meta.kind, meta.example_shape, split, split, split, classes=classes, task=task
    )


def check_one_task_step_moves_every_parameter(meta: ZooInfo) -> None:
    """One optimisation step of the entry's task (``train.train_step``) on a tiny batch: the
    loss is finite and every trainable parameter moves (a GAN's two networks both)."""
    from deepscope.train import resolve_task, train_step

    model = _build(meta)
    data = _example_data(meta, model)
    task = resolve_task(model, data)
    before = {name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad}
    x, y = data.train.tensors
    torch.manual_seed(0)
    _, loss = train_step(task, model, x, y, torch.optim.SGD(model.parameters(), lr=0.05))
    assert torch.isfinite(loss).all(), f"{meta.name}: loss {loss}"
    still = [name for name, p in model.named_parameters() if name in before and torch.equal(p, before[name])]
    assert not still, f"{meta.name}: one step left {still} unchanged"


def _check_output_shape(meta: ZooInfo, expected: tuple[int, ...] | None) -> torch.Tensor:
    model = _pristine(meta)
    with torch.no_grad():
        out = model(_example_input(model, meta))
    if expected is not None:
        assert tuple(out.shape) == expected, f"{meta.name}: output {tuple(out.shape)}, expected {expected}"
    assert out.is_floating_point() and torch.isfinite(out).all()
    return out


def check_backward_reaches_every_parameter(meta: ZooInfo) -> None:
    """timm's test_model_backward: after ``outputs.mean().backward()`` no parameter's grad is None."""
    model = _build(meta).train()
    model(_example_input(model, meta, n=2)).mean().backward()
    missing = [name for name, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"{meta.name}: no gradient reaches {missing}"


def check_seeded_construction_is_repeatable_and_leaves_the_global_rng(meta: ZooInfo) -> None:
    first = _pristine(meta)
    before = torch.get_rng_state()
    again, other = _build(meta, seed=0), _build(meta, seed=1)
    assert torch.equal(torch.get_rng_state(), before), f"{meta.name}: zoo.create(seed=...) moved the global RNG"
    a, b, c = first.state_dict(), again.state_dict(), other.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a), f"{meta.name}: the same seed gave different weights"
    assert any(not torch.equal(a[k], c[k]) for k in a), f"{meta.name}: seeds 0 and 1 gave the same weights"


def check_summary_counts_every_parameter(meta: ZooInfo) -> None:
    model = _pristine(meta)
    rows = summary(model, meta.example_shape).rows
    assert rows and sum(r.params for r in rows) == sum(p.numel() for p in model.parameters())


OUTPUT_CHECKS = {
    "classification": check_classifier_outputs_one_logit_per_class,
    "regression": check_regressor_outputs_the_targets_shape,
    "seq2seq": check_seq2seq_outputs_logits_per_step,
    "reconstruction": check_reconstruction_outputs_logits_shaped_like_the_input,
    "density": check_reconstruction_outputs_logits_shaped_like_the_input,
    "generation": check_generator_samples_repeatably_in_the_data_range,
    "pairs": check_pairs_output_one_distance_per_pair,
    "ctc": check_ctc_outputs_logits_per_time_step,
    "margin": check_classifier_outputs_one_logit_per_class,  # capsule lengths (N, classes), margin loss
}
STEPPED = {"reconstruction", "density", "generation", "pairs", "ctc", "margin"}  # tasks with their own step or loss


def _zoo_checks(meta: ZooInfo) -> Iterator[Callable[[ZooInfo], None]]:
    """The checks that apply to one zoo entry, chosen by its task."""
    yield check_declares_its_metadata
    yield OUTPUT_CHECKS[meta.task]
    if meta.task != "generation":  # a GAN's forward is its discriminator: the step below covers both nets
        yield check_backward_reaches_every_parameter
    if meta.task in STEPPED:
        yield check_one_task_step_moves_every_parameter
    yield check_seeded_construction_is_repeatable_and_leaves_the_global_rng
    yield check_summary_counts_every_parameter


ZOO_CASES = [(zoo.info(name), check) for name in zoo.MODELS.names() for check in _zoo_checks(zoo.info(name))]


@pytest.mark.parametrize(
    "meta, check", ZOO_CASES, ids=[f"{meta.name}-{check.__name__.removeprefix('check_')}" for meta, check in ZOO_CASES]
)
def test_zoo_contract(meta, check):
    check(meta)


def test_every_task_has_its_output_check():
    assert {zoo.info(name).task for name in zoo.MODELS.names()} <= set(OUTPUT_CHECKS)


class _Broken(nn.Module):
    """An entry that breaks two contracts: a layer the forward never uses, and weights drawn
    from the global RNG whatever the seed."""

    def __init__(self) -> None:
        super().__init__()
        self.used = nn.Linear(16, 3)
        self.unused = nn.Linear(16, 3)
        with torch.no_grad():
            self.used.weight.copy_(torch.randn(3, 16))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.used(x.flatten(1))


def test_the_checks_catch_a_broken_entry(monkeypatch):
    from deepscope.recipe import Recipe

    meta = ZooInfo("broken_for_the_contract", "image", "classification", "r", Recipe(), (1, 4, 4), 3, "d")

    def create(name, *, in_shape, num_classes, seed=None):
        model = _Broken()
        model.zoo_config = {"name": name}
        return model

    monkeypatch.setattr(zoo, "create", create)
    check_classifier_outputs_one_logit_per_class(meta)  # the shape is right
    with pytest.raises(AssertionError, match=r"no gradient reaches \['unused.weight', 'unused.bias'\]"):
        check_backward_reaches_every_parameter(meta)
    with pytest.raises(AssertionError, match="moved the global RNG"):
        check_seeded_construction_is_repeatable_and_leaves_the_global_rng(meta)


# Sets that need a PATH or a download are covered by their loader tests (local files, 127.0.0.1).
OFFLINE = [e for e in data_module.DATASETS if not e.meta["needs_path"] and not e.meta.get("downloadable")]


@pytest.mark.parametrize("entry", OFFLINE, ids=lambda e: e.name)
def test_builtin_dataset_loads_to_one_spec(entry):
    try:
        data = data_module.load(entry.name)
    except Exception as error:  # a built-in set whose package is missing is a skip, not a pass
        if "not installed" in str(error):
            pytest.skip(str(error))
        raise
    assert data.kind == entry.meta["kind"]
    for split in ("train", "val", "test"):
        x, y = data.split(split).tensors
        assert len(x) == len(y) > 0
        assert tuple(x.shape[1:]) == data.input_shape
    if data.task == "classification":
        assert set(data.train.tensors[1].unique().tolist()) <= set(range(data.num_classes))
    assert data.describe()["spec"] == entry.name
