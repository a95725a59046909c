"""The zoo's registry and ``create``: build a named architecture for a dataset's shapes."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from deepscope.errors import InvalidArgumentError, invalid
from deepscope.recipe import Recipe
from deepscope.registry import Registry

if TYPE_CHECKING:
    from deepscope.data import Dataset

__all__ = ["MODELS", "ZooInfo", "create", "info", "register"]

Builder = Callable[..., nn.Module]
MODELS: Registry[Builder] = Registry("model")


@dataclass(frozen=True)
class ZooInfo:
    """What a zoo entry declares: the data it expects, its task, the reference result it
    should reach and the recipe that reaches it. ``data_options`` are the loader settings the
    entry was designed for (text: ``maxlen``, ``max_words``, ``ngrams``); ``deepscope train``
    adds them to the data spec unless the user sets them."""

    name: str
    kind: str
    task: str
    reference: str
    recipe: Recipe
    example_shape: tuple[int, ...]
    example_classes: int
    description: str
    data_options: dict[str, Any] = field(default_factory=dict)
    example_kwargs: dict[str, Any] = field(default_factory=dict)  # for the example input (a small resize)


def register(
    name: str,
    *,
    kind: str,
    task: str = "classification",
    reference: str,
    recipe: Recipe,
    example_shape: tuple[int, ...],
    example_classes: int = 10,
    data_options: dict[str, Any] | None = None,
    example_kwargs: dict[str, Any] | None = None,
) -> Callable[[Builder], Builder]:
    """Register ``builder(in_shape, num_classes, **kwargs) -> nn.Module`` under ``name``.

    ``example_shape``/``example_classes`` are a valid input for the contract test and for
    ``deepscope zoo`` parameter counts."""

    def decorate(builder: Builder) -> Builder:
        doc = (builder.__doc__ or "").strip().splitlines()
        MODELS.register(
            name,
            info=ZooInfo(
                name,
                kind,
                task,
                reference,
                recipe,
                tuple(example_shape),
                example_classes,
                doc[0] if doc else "",
                dict(data_options or {}),
                dict(example_kwargs or {}),
            ),
        )(builder)
        return builder

    return decorate


def info(name: str) -> ZooInfo:
    """The declared metadata of zoo entry ``name``."""
    return MODELS.get(name).meta["info"]


def create(
    name: str,
    data: Dataset | None = None,
    *,
    in_shape: tuple[int, ...] | None = None,
    num_classes: int | None = None,
    seed: int | None = None,
    **kwargs: Any,
) -> nn.Module:
    """Build zoo model ``name`` as a plain ``nn.Module``.

    Shapes come from ``data`` (its ``input_shape`` and class count) or from ``in_shape`` /
    ``num_classes``. Lazy layers are materialised with one dry forward pass, and the output
    shape is checked. ``seed`` makes the initial weights repeatable (without touching the
    global RNG). The model records how to rebuild it in ``model.zoo_config``.
    """
    entry = MODELS.get(name)
    meta: ZooInfo = entry.meta["info"]
    if data is not None:
        if data.kind != meta.kind:
            raise InvalidArgumentError(
                f"Model {name!r} expects {meta.kind} data, but dataset {data.name!r} is {data.kind} data."
            )
        in_shape = in_shape or data.input_shape
        if num_classes is None and data.classes is not None:
            num_classes = data.num_classes
        if "vocab_size" in data.info and "vocab_size" in inspect.signature(entry.builder).parameters:
            kwargs.setdefault("vocab_size", data.info["vocab_size"])  # text: the embedding fits the vocabulary
        if num_classes is None and data.task == "regression" and data.train.tensors[1].ndim == 2:
            num_classes = int(data.train.tensors[1].shape[1])  # forecasting: one output per horizon step
        if num_classes is None and data.task == "contrastive":
            num_classes = int(data.info["projection_dim"])  # the last layer outputs the embedding
    if in_shape is None:
        raise invalid("in_shape", "a tuple of ints (or pass data=)", in_shape)
    in_shape = tuple(int(s) for s in in_shape)
    num_classes = meta.example_classes if num_classes is None else int(num_classes)
    with torch.random.fork_rng(devices=[], enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        try:
            model = entry.builder(in_shape, num_classes, **kwargs)
        except TypeError as error:
            raise InvalidArgumentError(f"Bad arguments for model {name!r}: {error}") from error
        _materialise(model, name, in_shape, num_classes)
    model.zoo_config = {"name": name, "in_shape": list(in_shape), "num_classes": num_classes, "kwargs": kwargs}
    model.default_recipe = meta.recipe  # deepscope.fit trains with it unless given another
    if data is not None and meta.data_options and data.kind == meta.kind:
        differ = {k: v for k, v in meta.data_options.items() if k in data.info and data.info[k] != v}
        if differ:
            warnings.warn(
                f"{name!r} is designed for data loaded with {differ}; {data.name!r} was loaded with "
                f"{ {k: data.info[k] for k in differ} }. deepscope.runs.train({name!r}, SPEC) (as `deepscope train`) "
                "loads it that way; or add the settings to the spec after '?'.",
                stacklevel=2,
            )
    return model


def _materialise(model: nn.Module, name: str, in_shape: tuple[int, ...], num_classes: int) -> None:
    """One dry forward on a batch of 2 to create lazy parameters and check the output shape."""
    was_training = model.training
    model.eval()
    dtype = torch.long if len(in_shape) == 1 and _takes_tokens(model) else torch.float32
    x = torch.zeros((2, *in_shape), dtype=dtype)
    try:
        with torch.no_grad():
            out = model(x)
    except RuntimeError as error:
        raise InvalidArgumentError(
            f"Model {name!r} cannot take inputs of shape {in_shape}: {str(error).splitlines()[0]}"
        ) from error
    model.train(was_training)
    declares_task = getattr(model, "task", None) is not None  # its task checks its outputs (a GAN's: (N, 1 + K))
    if isinstance(out, torch.Tensor) and out.ndim == 2 and out.shape[1] != num_classes and not declares_task:
        raise InvalidArgumentError(
            f"Model {name!r} outputs {out.shape[1]} values per sample, expected num_classes={num_classes}."
        )


def _takes_tokens(model: nn.Module) -> bool:
    return any(isinstance(m, (nn.Embedding, nn.EmbeddingBag)) for m in model.modules())
