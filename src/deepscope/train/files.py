"""Atomic file writes and safetensors checkpoints (no pickles anywhere)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

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
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"Missing file {path}.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RunError(f"File {path} is damaged (not valid JSON: {error}).") from None


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    """Save a flat dict of tensors with safetensors, atomically (shared storage is cloned)."""
    flat = {k: v.detach().contiguous().clone() for k, v in tensors.items()}
    atomic_write(path, lambda tmp: save_file(flat, str(tmp), metadata=metadata))


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path))
    except FileNotFoundError:
        raise RunError(f"Missing file {path}.") from None
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


def load_optimizer(path: Path, optimizer: torch.optim.Optimizer, rest: dict[str, Any]) -> None:
    """Inverse of :func:`save_optimizer`."""
    state: dict[int, dict[str, Any]] = {}
    for name, value in load_tensors(path).items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    for index, entry in rest["scalars"].items():
        state.setdefault(int(index), {}).update(entry)
    optimizer.load_state_dict({"state": state, "param_groups": rest["param_groups"]})
