"""How good are a generator's images? Scores computed offline with a *judge*: a classifier
of the same kind of images trained with deepscope (e.g. a ``mnist_cnn`` run).

- ``classifier_score``: the judge's accuracy at naming the class each sample of a
  class-conditional GAN was generated for (100% when every sample looks like its class);
- ``frechet_distance``: the Fréchet distance between Gaussians fitted to the judge's
  penultimate-layer features of real and of generated images -- FID's formula (Heusel et
  al. 2017) in the judge's feature space instead of Inception-v3's, so an MNIST analogue
  of FID (lower is better, 0 for identical statistics), comparable between runs scored
  with the same judge and sample count, never with published FIDs.

:class:`SampleQuality` computes both after every epoch (history columns ``frechet`` and
``classifier_score``) and keeps each epoch's sample grid in the run folder.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from deepscope.errors import InvalidArgumentError, invalid
from deepscope.train.callbacks import Callback, TrainState
from deepscope.train.devices import device_of
from deepscope.train.files import save_tensors
from deepscope.train.finetune import find_head

__all__ = [
    "EVAL_SEED",
    "QUALITY_SAMPLES",
    "SampleQuality",
    "attach_judge",
    "classifier_score",
    "frechet_distance",
    "judge_features",
    "judge_of",
    "judge_outputs",
    "read_sample_grid",
    "sample_grid",
    "sample_quality",
]

EVAL_SEED = 1234  # the latent codes of scored and shown samples: the same every epoch and every run
QUALITY_SAMPLES = 5000  # real and generated images per Fréchet distance (its bias depends on the count)
GRID_PER_CLASS = 10  # samples per class (a row each) in a conditional GAN's grid
GRID_UNCONDITIONAL = 64  # samples in an unconditional GAN's grid (8 x 8)
MAX_GRID = 400  # the most images a grid holds (deepscope.plots draws at most 400)
MAX_FEATURES = 4096  # judge features per image: the Fréchet distance works with D x D covariances


# ----------------------------------------------------------------------------- the judge
def attach_judge(gan: nn.Module, judge: nn.Module | None) -> None:
    """Let evaluations of ``gan`` (``Run.evaluate``, the report) score its samples with
    ``judge``. Kept as a plain attribute ``gan.judge``, not a submodule: the judge's weights
    stay out of the GAN's parameters, optimizer and ``state_dict``."""
    if judge is not None and not isinstance(judge, nn.Module):
        raise invalid("judge", "a classifier (torch.nn.Module) or None", type(judge).__name__)
    object.__setattr__(gan, "judge", judge)  # nn.Module.__setattr__ would register it as a submodule


def judge_of(gan: nn.Module) -> nn.Module | None:
    """The judge :func:`attach_judge` gave ``gan``, else None."""
    judge = gan.__dict__.get("judge")
    return judge if isinstance(judge, nn.Module) else None


def _feature_layer(judge: nn.Module) -> nn.Module:
    """The judge's classification layer (the last layer with weights in its head): its input
    is the penultimate-layer features, as FID reads Inception's pool features."""
    try:
        head = find_head(judge)
    except InvalidArgumentError:
        raise InvalidArgumentError(
            "`judge` must be a classifier with a head: a child named head/fc/classifier, or an nn.Sequential with "
            f"a Flatten before its dense layers (e.g. a mnist_cnn run). Received: a {type(judge).__name__}."
        ) from None
    weighted = [m for part in head for m in part.modules() if any(True for _ in m.parameters(recurse=False))]
    return weighted[-1]


@torch.inference_mode()
def judge_outputs(judge: nn.Module, images: torch.Tensor, batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """The judge's penultimate-layer features (N, D) and class logits (N, K) of ``images``
    (N, C, H, W), in eval mode, batched on the judge's device; both returned on the CPU."""
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or not len(images):
        raise invalid("images", "a tensor (N, C, H, W) with N >= 1", getattr(images, "shape", type(images).__name__))
    layer = _feature_layer(judge)
    captured: list[torch.Tensor] = []
    hook = layer.register_forward_pre_hook(lambda module, args: captured.append(args[0].flatten(1).float().cpu()))
    was_training = judge.training
    judge.eval()
    device = device_of(judge)
    logits = []
    try:
        for start in range(0, len(images), batch_size):
            out = judge(images[start : start + batch_size].to(device))
            logits.append(out.float().cpu())
    finally:
        hook.remove()
        judge.train(was_training)
    features = torch.cat(captured)  # (N, D)
    if features.shape[1] > MAX_FEATURES:
        raise InvalidArgumentError(
            f"`judge` must have at most {MAX_FEATURES} features before its classification layer (the Fréchet "
            f"distance works with D x D covariances). Received: a judge with {features.shape[1]}."
        )
    return features, torch.cat(logits)


def judge_features(judge: nn.Module, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """The judge's penultimate-layer features (N, D) of ``images`` (N, C, H, W)."""
    return judge_outputs(judge, images, batch_size)[0]


# ----------------------------------------------------------------------------- the scores
class _GivenFeatures(nn.Module):
    """torchmetrics' feature extractor for features computed already (by :func:`judge_features`)."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features  # read by FrechetInceptionDistance instead of a dry run

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


def frechet_distance(real_features: torch.Tensor, fake_features: torch.Tensor) -> float:
    """The Fréchet distance between Gaussians fitted to two sets of features (N, D) and (M, D):
    ``|mu_r - mu_f|^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2))``, computed by torchmetrics'
    ``FrechetInceptionDistance`` (in float64) with the features given instead of Inception's."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    for name, value in (("real_features", real_features), ("fake_features", fake_features)):
        if not isinstance(value, torch.Tensor) or value.ndim != 2 or len(value) < 2:
            raise invalid(name, "a tensor (N, D) with N >= 2", getattr(value, "shape", type(value).__name__))
    if real_features.shape[1] != fake_features.shape[1]:
        raise invalid("fake_features", f"(M, {real_features.shape[1]}) like real_features", tuple(fake_features.shape))
    metric = FrechetInceptionDistance(feature=_GivenFeatures(real_features.shape[1]))
    metric.update(real_features.double().cpu(), real=True)
    metric.update(fake_features.double().cpu(), real=False)
    return max(0.0, float(metric.compute()))  # >= 0 in exact arithmetic; float64 leaves ~1e-10 either side


def _check_gan(gan: nn.Module) -> None:
    if not callable(getattr(gan, "generate", None)) or not isinstance(getattr(gan, "conditional", None), bool):
        raise invalid(
            "gan", "a GAN (a model with generate() and conditional, e.g. zoo 'mnist_acgan')", type(gan).__name__
        )


@torch.inference_mode()
def _generate(
    gan: nn.Module, n: int, labels: torch.Tensor | None, generator: torch.Generator | None, batch_size: int
) -> torch.Tensor:
    """``n`` samples (n, C, H, W) on the CPU, made ``batch_size`` at a time."""
    parts = []
    for start in range(0, n, batch_size):
        count = min(batch_size, n - start)
        chunk = labels[start : start + count] if labels is not None else None
        parts.append(gan.generate(count, labels=chunk, generator=generator).cpu())
    return torch.cat(parts)


def classifier_score(
    gan: nn.Module,
    judge: nn.Module,
    n_per_class: int = 100,
    generator: torch.Generator | None = None,
    batch_size: int = 256,
) -> float:
    """The share of ``n_per_class`` samples of each class of a conditional ``gan`` that
    ``judge`` assigns to the class they were generated for (latent codes from ``generator``)."""
    _check_gan(gan)
    if not gan.conditional:
        raise InvalidArgumentError(
            "The classifier score needs a class-conditional GAN (e.g. mnist_acgan): an unconditional one is not "
            "asked for a class. Use frechet_distance."
        )
    if isinstance(n_per_class, bool) or not isinstance(n_per_class, int) or not 1 <= n_per_class <= 10_000:
        raise invalid("n_per_class", "an int in [1, 10000]", n_per_class)
    labels = torch.arange(gan.num_classes).repeat_interleave(n_per_class)  # (K * n,)
    images = _generate(gan, len(labels), labels, generator, batch_size)
    _, logits = judge_outputs(judge, images, batch_size)
    _check_judge_classes(logits, gan.num_classes)
    return float((logits.argmax(dim=1) == labels).float().mean())


def _check_judge_classes(logits: torch.Tensor, classes: int) -> None:
    if logits.ndim != 2 or logits.shape[1] != classes:
        raise InvalidArgumentError(
            f"`judge` must classify the GAN's {classes} classes. Received: a judge with "
            f"{logits.shape[1] if logits.ndim == 2 else tuple(logits.shape)} outputs."
        )


def sample_quality(
    gan: nn.Module,
    judge: nn.Module,
    real_features: torch.Tensor,
    samples: int | None = None,
    generator: torch.Generator | None = None,
    batch_size: int = 256,
) -> dict[str, float]:
    """``frechet`` between ``real_features`` (the judge's features of real images, see
    :func:`judge_features`) and the features of as many samples (or ``samples``), and for a
    conditional GAN ``classifier_score`` on the same samples, whose classes cycle through
    0..K-1 (a balanced set)."""
    _check_gan(gan)
    n = len(real_features) if samples is None else samples
    if isinstance(n, bool) or not isinstance(n, int) or not 2 <= n <= 1_000_000:
        raise invalid("samples", "an int in [2, 1000000]", n)
    labels = torch.arange(n) % gan.num_classes if gan.conditional else None
    features, logits = judge_outputs(judge, _generate(gan, n, labels, generator, batch_size), batch_size)
    scores = {"frechet": frechet_distance(real_features, features)}
    if labels is not None:
        _check_judge_classes(logits, gan.num_classes)
        scores["classifier_score"] = float((logits.argmax(dim=1) == labels).float().mean())
    return scores


# ----------------------------------------------------------------------------- what to look at
def sample_grid(
    gan: nn.Module, generator: torch.Generator | None = None, per_class: int = GRID_PER_CLASS
) -> tuple[torch.Tensor, torch.Tensor | None, int]:
    """Samples to look at: (images (N, C, H, W) on the CPU, their classes (N,) or None, columns).
    A conditional GAN: ``per_class`` samples of each class, one row per class (at most
    ``MAX_GRID`` images: the first classes when there are many); else an 8 x 8 grid."""
    _check_gan(gan)
    if not gan.conditional:
        return _generate(gan, GRID_UNCONDITIONAL, None, generator, GRID_UNCONDITIONAL), None, 8
    per_class = max(1, min(per_class, MAX_GRID // gan.num_classes))
    labels = torch.arange(min(gan.num_classes, MAX_GRID // per_class)).repeat_interleave(per_class)
    return _generate(gan, len(labels), labels, generator, 256), labels, per_class


def _is_main_process() -> bool:
    return not (torch.distributed.is_available() and torch.distributed.is_initialized()) or (
        torch.distributed.get_rank() == 0
    )


class SampleQuality(Callback):
    """After every epoch's validation (before its checkpoint, so a resumed run keeps the
    scores): ``frechet`` (the Fréchet distance between the judge's features of
    ``real`` images and of as many samples) and, for a conditional GAN, ``classifier_score``,
    added to the epoch's logs (so to ``history.csv``); and the epoch's sample grid saved as
    ``samples/epoch_NNN.safetensors`` in the run folder (uint8 ``images`` (N, C, H, W),
    int64 ``labels`` (N,) for a conditional GAN; metadata ``epoch``, ``columns``, ``seed``).
    Scored and shown samples come from fixed latent codes (seed ``seed``), so epochs compare
    like for like; the global RNG is not touched. The GAN gets the judge
    (:func:`attach_judge`) for its final evaluation and report.

    ``real``: real images (N, C, H, W) in [0, 1], e.g. the validation split's; at most
    ``samples`` of them are used."""

    def __init__(
        self,
        judge: nn.Module,
        real: torch.Tensor,
        samples: int = QUALITY_SAMPLES,
        seed: int = EVAL_SEED,
        save_grid: bool = True,
    ) -> None:
        if not isinstance(judge, nn.Module):
            raise invalid("judge", "a classifier (torch.nn.Module), e.g. open_run(RUN).model", type(judge).__name__)
        if not isinstance(real, torch.Tensor) or real.ndim != 4 or len(real) < 2:
            raise invalid("real", "real images (N, C, H, W) with N >= 2", getattr(real, "shape", type(real).__name__))
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 2:
            raise invalid("samples", "an int >= 2", samples)
        self.judge, self.real, self.seed, self.save_grid = judge, real[:samples], seed, save_grid
        self._real_features: torch.Tensor | None = None

    def on_fit_start(self, state: TrainState) -> None:
        _check_gan(state.model)
        self.judge.to(device_of(state.model))
        attach_judge(state.model, self.judge)
        self._real_features = judge_features(self.judge, self.real)

    def on_validation_end(self, state: TrainState, logs: dict[str, float]) -> None:
        gan = state.model
        scores = sample_quality(
            gan, self.judge, self._real_features, generator=torch.Generator().manual_seed(self.seed)
        )
        logs.update(scores)
        if self.save_grid and state.out is not None and _is_main_process():
            images, labels, columns = sample_grid(gan, torch.Generator().manual_seed(self.seed))
            tensors = {"images": (images * 255).round().to(torch.uint8)}
            if labels is not None:
                tensors["labels"] = labels
            metadata = {"epoch": str(state.epoch), "columns": str(columns), "seed": str(self.seed)}
            save_tensors(Path(state.out) / "samples" / f"epoch_{state.epoch:03d}.safetensors", tensors, metadata)


def read_sample_grid(path: str | Path) -> tuple[torch.Tensor, torch.Tensor | None, dict[str, str]]:
    """A grid :class:`SampleQuality` saved: (images (N, C, H, W) float in [0, 1], labels or
    None, metadata)."""
    from safetensors import safe_open

    from deepscope.train.files import load_tensors

    tensors = load_tensors(Path(path))
    with safe_open(str(path), framework="pt") as handle:
        metadata = dict(handle.metadata() or {})
    return tensors["images"].float() / 255, tensors.get("labels"), metadata
