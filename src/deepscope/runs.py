"""Run folders as the user sees them: train a zoo model with its recipe, open a folder
again (rebuilding the model from config.json and safetensors, never executing code from the
folder), list runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from deepscope import data as data_module
from deepscope import zoo
from deepscope.data import Dataset
from deepscope.errors import RunError
from deepscope.recipe import Recipe
from deepscope.train import Run
from deepscope.train import fit as train_fit
from deepscope.train.files import load_tensors, read_json
from deepscope.train.run import check_run_folder

__all__ = ["fit", "list_runs", "load_data", "open_run", "recipe_for", "resume"]


def recipe_for(model: torch.nn.Module) -> Recipe:
    """The zoo recipe of a model built by ``zoo.create``; the generic default otherwise."""
    name = getattr(model, "zoo_config", {}).get("name")
    return zoo.info(name).recipe if name in zoo.MODELS else Recipe()


def fit(model: torch.nn.Module, data: Dataset, recipe: Recipe | None = None, **kwargs: Any) -> Run:
    """``train.fit`` with the zoo entry's recipe as the default."""
    return train_fit(model, data, recipe or recipe_for(model), **kwargs)


def resume(path: str | Path, **kwargs: Any) -> Run:
    """Continue an interrupted run from its last completed epoch, with its own recipe and
    data; the result equals the uninterrupted run's (on CPU)."""
    path = Path(path)
    config = check_run_folder(path)
    zoo_config = config["model"]
    if not zoo_config.get("name"):
        raise RunError(
            f"Run {path} holds a custom model ({zoo_config.get('class')}); resume it with "
            "deepscope.train.fit(model, data, recipe, out=path, resume=True)."
        )
    recipe = Recipe(**config["recipe"])
    model = zoo.create(
        zoo_config["name"],
        in_shape=tuple(zoo_config["in_shape"]),
        num_classes=zoo_config["num_classes"],
        seed=recipe.seed,
        **zoo_config.get("kwargs", {}),
    )
    return train_fit(model, load_data(config), recipe, out=path, resume=True, **kwargs)


def open_run(
    path: str | Path, *, data: Dataset | None = None, load_data: bool = True, model: torch.nn.Module | None = None
) -> Run:
    """Open run folder ``path``: rebuild its model (zoo entries) or use ``model`` (any other
    nn.Module), load the best weights, and reload its data from the recorded spec unless
    ``data`` is given or ``load_data=False``."""
    path = Path(path)
    config = check_run_folder(path)
    if model is None:
        zoo_config = config.get("model", {})
        if not zoo_config.get("name"):
            raise RunError(f"Run {path} holds a custom model ({zoo_config.get('class')}); pass model= to open it.")
        model = zoo.create(
            zoo_config["name"],
            in_shape=tuple(zoo_config["in_shape"]),
            num_classes=zoo_config["num_classes"],
            **zoo_config.get("kwargs", {}),
        )
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
    history_path = path / "last" / "state.json"
    history = read_json(history_path)["history"] if history_path.exists() else []
    return Run(path=path, model=model, data=data, config=config, history=history)


def load_data(config: dict[str, Any]) -> Dataset:
    """Reload the dataset a run was trained on, with the same validation split."""
    described = config["data"]
    recipe = config.get("recipe", {})
    sizes = described.get("sizes", {})
    train_size, val_size = sizes.get("train", 0), sizes.get("val", 0)
    val_fraction = val_size / (train_size + val_size) if train_size + val_size else 0.1
    val_fraction = round(val_fraction, 2)
    data = data_module.load(described["spec"], val_fraction=val_fraction, seed=recipe.get("seed", 0))
    if list(data.input_shape) != described["input_shape"] or data.classes != described["classes"]:
        raise RunError(
            f"The data at {described['spec']!r} no longer matches the run: shape {list(data.input_shape)} "
            f"vs {described['input_shape']}, classes {data.classes} vs {described['classes']}."
        )
    return data


def list_runs(root: str | Path = "runs") -> list[Path]:
    """Run folders under ``root`` (folders with a config.json), oldest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if (p / "config.json").is_file()), key=lambda p: p.stat().st_mtime)
