"""Atomic file writes and safetensors checkpoints (no pickles anywhere)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from deepscope import limits
from deepscope.atomic import atomic_write, write_json, write_text
from deepscope.errors import RunError

__all__ = [
    "atomic_write",
    "load_optimizer",
    "load_tensors",
    "read_json",
    "save_optimizer",
    "save_tensors",
    "write_json",
    "write_text",
]


def read_json(path: Path) -> Any:
    """A run folder's JSON file (a regular file, at most the text cap), parsed; RunError
    naming the file when it is missing, special, too large, not UTF-8 or not JSON."""
    path = Path(path)
    if not path.exists():
        raise RunError(f"Missing file {path}.")
    text = limits.read_text(path, "file", error=RunError)
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise RunError(f"File {path} is damaged (not valid JSON: {str(error)[:200]}).") from None


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    """Save a flat dict of tensors with safetensors, atomically (shared storage is cloned; GPU
    tensors are saved from CPU copies, so a file never depends on the device)."""
    flat = {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}
    atomic_write(path, lambda tmp: save_file(flat, str(tmp), metadata=metadata))


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    """A safetensors file's tensors (never a pickle). Regular files only, at most the memory cap."""
    path = Path(path)
    if not path.exists():
        raise RunError(f"Missing file {path}.")
    size = limits.check_regular(path, "file", error=RunError).st_size
    limits.check_allocation(size, f"Loading {path}", error=RunError)
    try:
        return load_file(str(path))
    except Exception as error:  # safetensors raises its own error types for damaged headers
        raise RunError(f"File {path} is damaged (not a readable safetensors file: {error}).") from None


def save_optimizer(path: Path, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Write the optimizer's tensors to ``path`` (safetensors); return the JSON-able rest."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, entry in state["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{index}.{key}"] = value
            else:
                scalars.setdefault(str(index), {})[key] = value
    save_tensors(path, tensors)
    return {"param_groups": state["param_groups"], "scalars": scalars}


def load_optimizer(path: Path, optimizer: torch.optim.Optimizer, rest: dict[str, Any], *, where: str = "") -> None:
    """Inverse of :func:`save_optimizer`. Every saved tensor must match its parameter's shape
    (a tampered or mismatched checkpoint fails here, not at the first optimizer step)."""
    where = where or f"Cannot load the optimizer state {path}"
    params = [p for group in optimizer.param_groups for p in group["params"]]
    state: dict[int, dict[str, Any]] = {}
    for name, value in load_tensors(path).items():
        index_text, _, key = name.partition(".")
        if not index_text.isdigit() or int(index_text) >= len(params) or not key:
            raise RunError(f"{where}: {path} holds a tensor {name!r} for no parameter of this optimizer.")
        index = int(index_text)
        param = params[index]
        if value.ndim and (value.shape != param.shape or not value.dtype.is_floating_point):
            raise RunError(
                f"{where}: optimizer tensor {name!r} must have the shape of parameter {index} "
                f"{tuple(param.shape)}. Received: {tuple(value.shape)} {value.dtype}."
            )
        state.setdefault(index, {})[key] = value
    for index, entry in rest["scalars"].items():
        state.setdefault(int(index), {}).update(entry)
    try:
        optimizer.load_state_dict({"state": state, "param_groups": rest["param_groups"]})
    except (KeyError, TypeError, ValueError) as error:
        raise RunError(f"{where}: its optimizer state does not fit this optimizer ({error}).") from None
