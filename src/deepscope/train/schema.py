"""Schemas of a run folder's JSON files, checked whenever a run folder is opened.

A run folder may come from anywhere (a colleague, a download, a disk that filled up), so
``config.json``, ``last/state.json`` and ``metrics.json`` are validated as a whole against
these pydantic models instead of trusting fields one by one: a field of the wrong type, a
huge ``in_shape`` or a ``state.json`` that is a list ends in one :class:`RunError` naming the
file and the field. Extra fields are allowed (newer minor versions may add some).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from deepscope.errors import DeepscopeError, RunError
from deepscope.recipe import Recipe

__all__ = ["MAX_INPUT_VALUES", "check_config", "check_metrics", "check_state"]

MAX_INPUT_VALUES = 1 << 26  # values in one input sample: 64M (e.g. 3 x 4096 x 4096 images)


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")


class ModelConfig(_Strict):
    name: str | None = None
    class_: str | None = Field(default=None, alias="class")
    in_shape: list[int] | None = None
    num_classes: int | None = None
    kwargs: dict[str, Any] = Field(default_factory=dict)
    transfer: str | None = None  # the run folder whose layers it started from (deepscope finetune RUN)

    @model_validator(mode="after")
    def _zoo_entries_have_shapes(self) -> ModelConfig:
        if self.name is None:
            return self
        if not self.in_shape or any(s < 1 for s in self.in_shape) or len(self.in_shape) > 5:
            raise ValueError(f"model.in_shape must be 1 to 5 positive ints. Received: {self.in_shape}")
        if math.prod(self.in_shape) > MAX_INPUT_VALUES:
            raise ValueError(f"model.in_shape must hold at most {MAX_INPUT_VALUES:,} values. Received: {self.in_shape}")
        if self.num_classes is None or not 1 <= self.num_classes <= 1_000_000:
            raise ValueError(f"model.num_classes must be an int in [1, 1000000]. Received: {self.num_classes}")
        return self


class DataConfig(_Strict):
    name: str
    spec: str
    kind: Literal["image", "series", "text", "sequence"]
    task: Literal["classification", "regression", "seq2seq", "contrastive", "pairs", "ctc"] = "classification"
    input_shape: list[int]
    classes: list[str] | None = None
    sizes: dict[str, int] = Field(default_factory=dict)
    info: dict[str, Any] = Field(default_factory=dict)
    fingerprint: str | None = None


class Config(_Strict):
    format: int
    model: ModelConfig
    data: DataConfig
    task: (
        Literal[
            "classification",
            "regression",
            "seq2seq",
            "contrastive",
            "reconstruction",
            "density",
            "generation",
            "pairs",
            "ctc",
            "margin",
        ]
        | None
    ) = None  # the task trained (deepscope >= 0.12); before, always the data's
    recipe: dict[str, Any]
    augment: dict[str, str | int] | None = None  # the resolved policy (deepscope >= 0.10)

    @model_validator(mode="after")
    def _classes_match_the_model(self) -> Config:
        classes, outputs = self.data.classes, self.model.num_classes
        if self.model.name and self.data.task == "classification" and classes is not None and len(classes) != outputs:
            raise ValueError(f"data.classes names {len(classes)} classes but the model has {outputs} outputs")
        return self


class OptimizerState(_Strict):
    param_groups: list[dict[str, Any]]
    scalars: dict[str, dict[str, Any]]


class State(_Strict):
    epoch: int = Field(ge=0)
    history: list[dict[str, float | int | str | None]]
    best: float | None
    best_epoch: int = Field(ge=0)
    bad_epochs: int = Field(ge=0)
    stopped: bool = False
    optimizer: OptimizerState
    schedule: dict[str, Any] | None


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    received = first.get("input")
    shown = repr(received)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return f"field {where}: {first['msg']}. Received: {shown}"


def _validate(model: type[BaseModel], obj: Any, path: Path) -> None:
    try:
        model.model_validate(obj)
    except ValidationError as error:
        raise RunError(f"Run file {path} is damaged: {_first_error(error)}.") from None


def check_config(config: Any, path: Path) -> dict[str, Any]:
    """Validate a parsed ``config.json``; return it unchanged, or raise RunError naming the field."""
    version = config.get("format") if isinstance(config, dict) else None
    if not isinstance(version, int) or isinstance(version, bool):
        raise RunError(f"Run folder {Path(path).parent} is damaged: config.json has no 'format' version.")
    _validate(Config, config, path)
    try:
        Recipe(**config["recipe"])
    except TypeError as error:  # an unknown or missing field
        raise RunError(f"Run file {path} is damaged: field recipe: {error}.") from None
    except DeepscopeError as error:
        raise RunError(f"Run file {path} is damaged: field recipe: {error}") from None
    return config


def check_state(state: Any, path: Path) -> dict[str, Any]:
    """Validate a parsed ``last/state.json``; return it unchanged, or raise RunError."""
    _validate(State, state, path)
    if state["best_epoch"] > state["epoch"] or len(state["history"]) != state["epoch"]:
        raise RunError(
            f"Run file {path} is damaged: it records {state['epoch']} epochs, "
            f"{len(state['history'])} history rows and best epoch {state['best_epoch']}."
        )
    return state


class _Metrics(BaseModel):
    model_config = ConfigDict(strict=True)
    splits: dict[Literal["train", "val", "test"], dict[str, Any]]


def check_metrics(metrics: Any, path: Path) -> dict[str, Any]:
    """Validate a parsed ``metrics.json`` (split name -> scores); return it, or raise RunError."""
    _validate(_Metrics, {"splits": metrics}, path)
    return metrics
