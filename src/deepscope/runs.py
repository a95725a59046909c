"""Run folders as the user sees them: train a zoo model on a data spec (``train``, what
``deepscope train`` runs), open a folder again (rebuilding the model from config.json and
safetensors, never executing code from the folder), resume, list runs. ``fit`` is
``deepscope.train.fit`` itself, re-exported: one training path for the CLI and Python."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import torch

from deepscope import data as data_module
from deepscope import limits, zoo
from deepscope.data import Dataset
from deepscope.errors import DeepscopeError, RunError, invalid
from deepscope.recipe import Recipe
from deepscope.train import Run, fit
from deepscope.train.checkpoint import last_checkpoint
from deepscope.train.files import load_tensors, read_json
from deepscope.train.run import check_run_folder, fingerprint
from deepscope.train.schema import check_state

__all__ = ["fit", "list_runs", "load_data", "open_run", "resume", "train"]


def train(
    model: str,
    data: str = "digits",
    *,
    val_fraction: float = 0.1,
    download: bool = False,
    **fit_kwargs: Any,
) -> Run:
    """Train zoo entry ``model`` on the data spec ``data`` -- what ``deepscope train`` does:
    the data is loaded with the entry's preferred loader settings (text: ``maxlen``,
    vocabulary size) unless the spec sets them, the model is built with the recipe's seed,
    and :func:`fit` trains it with the entry's recipe. ``fit_kwargs`` are :func:`fit`'s
    keywords (``out``, ``runs_dir``, ``progress``, ``callbacks``) and recipe overrides
    (``epochs=``, ``lr=``, ``seed=``, ...)."""
    entry = zoo.info(model)
    recipe_fields = set(Recipe.__dataclass_fields__)
    recipe = entry.recipe.with_overrides(**{k: v for k, v in fit_kwargs.items() if k in recipe_fields})
    other = {k: v for k, v in fit_kwargs.items() if k not in recipe_fields}
    dataset = data_module.load(data_spec(model, data), val_fraction=val_fraction, seed=recipe.seed, download=download)
    return fit(zoo.create(model, data=dataset, seed=recipe.seed), dataset, recipe, **other)


def data_spec(model: str, spec: str) -> str:
    """``spec`` with zoo entry ``model``'s preferred loader settings added where the spec does
    not set them (``'imdb:D'`` -> ``'imdb:D?maxlen=120&max_words=20000'`` for imdb_lstm)."""
    entry = zoo.info(model)
    if not isinstance(spec, str) or not spec:
        raise invalid("data", "a data spec string such as 'digits' or 'mnist:PATH'", spec)
    if entry.data_options and data_module.DATASETS.get(spec.partition(":")[0]).meta["kind"] == entry.kind:
        return data_module.spec_with_options(spec, entry.data_options)
    return spec


def resume(path: str | Path, **kwargs: Any) -> Run:
    """Continue an interrupted zoo run from its last completed epoch (from the start if none
    was completed), with its own recipe and data; the result equals the uninterrupted run's
    (on CPU). A finished or early-stopped run is returned as it is."""
    path = Path(path)
    config = check_run_folder(path)
    zoo_config = config["model"]
    if not zoo_config.get("name"):
        raise RunError(
            f"Run {path} holds a custom model ({zoo_config.get('class')}); resume it with "
            "deepscope.fit(model, data, recipe, out=path, resume=True)."
        )
    recipe = Recipe(**config["recipe"])
    model = _create(zoo_config, path, seed=recipe.seed)
    return fit(model, load_data(config, check=False), recipe, out=path, resume=True, **kwargs)


def _create(zoo_config: dict[str, Any], path: Path, seed: int | None = None) -> torch.nn.Module:
    if zoo_config["name"] not in zoo.MODELS:
        raise RunError(f"Run {path} was trained with zoo model {zoo_config['name']!r}, which this deepscope lacks.")
    in_shape = tuple(zoo_config["in_shape"])
    limits.check_allocation(
        2 * math.prod(in_shape) * 4, f"A dry run of {zoo_config['name']} on {in_shape}", error=RunError
    )
    try:
        return zoo.create(
            zoo_config["name"],
            in_shape=in_shape,
            num_classes=zoo_config["num_classes"],
            seed=seed,
            **zoo_config.get("kwargs", {}),
        )
    except DeepscopeError as error:
        raise RunError(f"Run {path} is damaged: its model cannot be rebuilt ({error})") from None


def open_run(
    path: str | Path, *, data: Dataset | None = None, load_data: bool = True, model: torch.nn.Module | None = None
) -> Run:
    """Open run folder ``path``: rebuild its model (zoo entries) or use ``model`` (any other
    nn.Module), load the best weights, and reload its data from the recorded spec (the same
    split; a warning when the data has changed since) unless ``data`` is given or
    ``load_data=False``."""
    path = Path(path)
    config = check_run_folder(path)
    if model is None:
        zoo_config = config["model"]
        if not zoo_config.get("name"):
            raise RunError(f"Run {path} holds a custom model ({zoo_config.get('class')}); pass model= to open it.")
        model = _create(zoo_config, path)
    weights = path / "model.safetensors"
    if not weights.exists():
        raise RunError(f"Run {path} has no model.safetensors: it did not finish an epoch.")
    try:
        model.load_state_dict(load_tensors(weights))
    except RuntimeError as error:
        raise RunError(
            f"Run {path} is damaged: its weights do not fit the model ({str(error).splitlines()[0]})."
        ) from None
    model.eval()
    if data is None and load_data:
        data = globals()["load_data"](config)
    folder = last_checkpoint(path)
    state = check_state(read_json(folder / "state.json"), folder / "state.json") if folder else None
    history = state["history"] if state else []
    stopped = bool(state and state.get("stopped") and state["epoch"] < config["recipe"]["epochs"])
    return Run(path=path, model=model, data=data, config=config, history=history, stopped_early=stopped)


def load_data(config: dict[str, Any], *, check: bool = True) -> Dataset:
    """Reload the dataset a run was trained on, with the same validation split (the split
    settings stored in config.json). When the data's fingerprint differs from the one stored,
    a warning says so (``check=True``); ``fit(resume=True)`` refuses instead."""
    described = config["data"]
    split = described.get("info", {}).get("split")
    if isinstance(split, dict) and isinstance(split.get("val_fraction"), (int, float)):
        val_fraction, seed = float(split["val_fraction"]), split.get("seed", 0)
    else:  # runs written before the split was stored: the nearest fraction (may differ slightly)
        sizes = described.get("sizes", {})
        train_size, val_size = sizes.get("train", 0), sizes.get("val", 0)
        val_fraction = round(val_size / (train_size + val_size), 2) if train_size + val_size else 0.1
        seed = config.get("recipe", {}).get("seed", 0)
    data = data_module.load(described["spec"], val_fraction=val_fraction, seed=seed)
    if list(data.input_shape) != described["input_shape"] or data.classes != described["classes"]:
        raise RunError(
            f"The data at {described['spec']!r} no longer matches the run: shape {list(data.input_shape)} "
            f"vs {described['input_shape']}, classes {data.classes} vs {described['classes']}."
        )
    saved = described.get("fingerprint")
    if check and saved is not None and saved != fingerprint(data):
        warnings.warn(
            f"The data at {described['spec']!r} has changed since the run was trained (its fingerprint differs): "
            "scores computed now are not those of the run's own data.",
            DataChangedWarning,
            stacklevel=2,
        )
    return data


class DataChangedWarning(UserWarning):
    """The data behind a run folder's spec is not the data it was trained on."""


def list_runs(root: str | Path = "runs") -> list[Path]:
    """Run folders under ``root`` (folders with a config.json), oldest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if (p / "config.json").is_file()), key=lambda p: p.stat().st_mtime)
