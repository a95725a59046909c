"""Run folders as the user sees them: train a zoo model on a data spec (``train``, what
``deepscope train`` runs), open a folder again (rebuilding the model from config.json and
safetensors, never executing code from the folder), resume, list runs. ``fit`` is
``deepscope.train.fit`` itself, re-exported: one training path for the CLI and Python."""

from __future__ import annotations

import inspect
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from deepscope import data as data_module
from deepscope import limits, zoo
from deepscope.data import Dataset
from deepscope.errors import DataError, DeepscopeError, RunError, UnknownNameError, invalid
from deepscope.recipe import Recipe
from deepscope.train import Run, fit
from deepscope.train.checkpoint import last_checkpoint
from deepscope.train.files import load_tensors, read_json
from deepscope.train.run import check_run_folder, fingerprint
from deepscope.train.schema import check_state
from deepscope.train.tune import Param, Trial, sealed
from deepscope.zoo.pretrained import BACKBONES, TIMM_PREFIX, hash_prefix, timm_pretrained_cfg

__all__ = [
    "BACKBONE_ARGS",
    "TuneResult",
    "compare",
    "default_space",
    "finetune",
    "fit",
    "learning_curve",
    "list_runs",
    "load_data",
    "open_judge",
    "open_run",
    "pretrain",
    "resume",
    "timm_weights_file",
    "train",
    "tune",
]

# Arguments that only say where a pretrained backbone's published weights come from: a run
# folder records them (to restart a run that completed no epoch) but, once its own weights
# exist, rebuilds the bare architecture and loads model.safetensors.
BACKBONE_ARGS = ("weights", "weights_file")


def train(
    model: str,
    data: str = "digits",
    *,
    val_fraction: float = 0.1,
    download: bool = False,
    judge: str | Path | None = None,
    model_args: dict[str, Any] | None = None,
    **fit_kwargs: Any,
) -> Run:
    """Train zoo entry ``model`` on the data spec ``data`` -- what ``deepscope train`` does:
    the data is loaded with the entry's preferred loader settings (text: ``maxlen``,
    vocabulary size) unless the spec sets them, the model is built with the recipe's seed,
    and :func:`fit` trains it with the entry's recipe. ``fit_kwargs`` are :func:`fit`'s
    keywords (``out``, ``runs_dir``, ``progress``, ``callbacks``) and recipe overrides
    (``epochs=``, ``lr=``, ``seed=``, ...). ``judge``: for a GAN, a classifier run folder of
    the same images (:func:`open_judge`) that scores the samples after every epoch; its path
    is recorded in config.json, so evaluations and the report of the run use it too.
    ``model_args``: the builder's own arguments (``{"depth": 56, "version": 2}`` for
    ``cifar10_resnet``; ``deepscope zoo --summary MODEL`` lists them), recorded in config.json
    so the run reopens with the same architecture."""
    entry = zoo.info(model)
    model_args = check_model_args(model, model_args)
    recipe_fields = set(Recipe.__dataclass_fields__)
    recipe = entry.recipe.with_overrides(**{k: v for k, v in fit_kwargs.items() if k in recipe_fields})
    other = {k: v for k, v in fit_kwargs.items() if k not in recipe_fields}
    dataset = data_module.load(data_spec(model, data), val_fraction=val_fraction, seed=recipe.seed, download=download)
    net = zoo.create(model, data=dataset, seed=recipe.seed, **model_args)
    if judge is not None:
        other["callbacks"] = [*other.get("callbacks", ()), _judging(net, judge, dataset)]
    return fit(net, dataset, recipe, **other)


def check_model_args(model: str, model_args: dict[str, Any] | None) -> dict[str, Any]:
    """``model_args`` checked against zoo entry ``model``'s builder: a dict whose keys are
    arguments of the builder (not the shapes, which come from the data)."""
    if model_args is None:
        return {}
    if not isinstance(model_args, dict):
        raise invalid("model_args", "a dict of the model builder's arguments", model_args)
    builder_args = _builder_args(model)
    for name in model_args:
        if name not in builder_args:
            raise UnknownNameError(f"argument of {model}", str(name), builder_args)
    return dict(model_args)


def _builder_args(model: str) -> set[str]:
    """The arguments of zoo entry ``model``'s builder that a user may set (not the shapes)."""
    return set(inspect.signature(zoo.MODELS.get(model).builder).parameters) - {"in_shape", "num_classes"}


def open_judge(path: str | Path, data: Dataset | None = None) -> torch.nn.Module:
    """The classifier of run folder ``path`` as a judge of generated images
    (``deepscope.train.quality``: classifier score, Fréchet distance of its features); with
    ``data``, checked to read that data's images."""
    path = Path(path)
    config = check_run_folder(path)
    task = config.get("task") or config["data"].get("task", "classification")
    if task != "classification" or config["data"]["kind"] != "image":
        raise RunError(f"A judge must be an image classifier run; {path} is a {config['data']['kind']} {task} run.")
    if data is not None and list(data.input_shape) != config["data"]["input_shape"]:
        raise RunError(
            f"The judge {path} reads images of shape {config['data']['input_shape']}; {data.name!r} holds "
            f"{list(data.input_shape)}."
        )
    return open_run(path, load_data=False).model


def _judging(gan: torch.nn.Module, judge: str | Path, data: Dataset) -> Any:
    """The callback that scores ``gan``'s samples with the judge at ``judge`` after every epoch
    (against the validation images, else the training images); the judge's path goes into
    ``gan.zoo_config`` (so config.json) for evaluations and resumes."""
    from deepscope.train.quality import SampleQuality

    if getattr(gan, "task", None) != "generation":
        raise invalid("judge", "None: only generative models (GANs) are judged", str(judge))
    path = Path(judge).resolve()
    model = open_judge(path, data)
    gan.zoo_config["judge"] = str(path)
    real = data.val.tensors[0] if len(data.val) else data.train.tensors[0]
    return SampleQuality(model, real)


def finetune(
    backbone: str | Path,
    data: str = "digits",
    *,
    weights_file: str | Path | None = None,
    size: int | None = None,
    val_fraction: float = 0.1,
    download: bool = False,
    **fit_kwargs: Any,
) -> Run:
    """Fine-tune a pretrained network on the data spec ``data`` (fastai's ``fine_tune``): a new
    head for the data's classes trains on the frozen backbone for ``freeze_epochs``, then the
    whole network trains with discriminative learning rates (``lr_mult``); frozen BatchNorm
    keeps its statistics. Images are resized and normalised as the backbone expects.

    ``backbone`` is a pretrained zoo entry (``resnet18``, ``mobilenet_v3_small``,
    ``efficientnet_b0``: ImageNet weights from ``weights_file``, the cache, or downloaded with
    ``download=True``; ``efficientnet_lite0``: offline weights from its package), ``timm:NAME``
    (any timm model: its default pretrained weights from ``weights_file``, the Hugging Face
    cache, or downloaded into it with ``download=True``), the text encoder ``minilm``
    (all-MiniLM-L6-v2, offline from its package; the text is loaded with its WordPiece
    tokenizer), or a run folder: its zoo model is rebuilt for the new classes, every layer but the head takes the
    run's weights, and (unless ``freeze_epochs`` is given) only the head trains -- Keras'
    mnist_transfer_cnn. ``fit_kwargs`` are recipe overrides and :func:`fit`'s keywords."""
    recipe_fields = set(Recipe.__dataclass_fields__)
    overrides = {k: v for k, v in fit_kwargs.items() if k in recipe_fields}
    other = {k: v for k, v in fit_kwargs.items() if k not in recipe_fields}
    if isinstance(backbone, str) and (backbone in BACKBONES or backbone.startswith(TIMM_PREFIX)):
        name = "timm" if backbone.startswith(TIMM_PREFIX) else backbone
        recipe = zoo.info(name).recipe.with_overrides(**overrides)
        kwargs: dict[str, Any] = {"weights": "imagenet"}
        if name == "timm":
            kwargs["arch"] = backbone.removeprefix(TIMM_PREFIX)
        if weights_file is not None:
            kwargs["weights_file"] = str(Path(weights_file).resolve())
        elif name == "timm":  # the Hugging Face cache, or a download into it
            kwargs["weights_file"] = str(timm_weights_file(kwargs["arch"], download=download))
        elif BACKBONES[name].local_file is None:  # torchvision's weights: the cache, or a download into it
            url, file_name, sha256 = BACKBONES[name].weights()
            kwargs["weights_file"] = str(data_module.published_file(url, file_name, sha256, download=download))
        dataset = data_module.load(data, val_fraction=val_fraction, seed=recipe.seed, download=download)
        if size is not None:
            kwargs["size"] = size
        model = zoo.create(name, data=dataset, seed=recipe.seed, **kwargs)
    elif isinstance(backbone, str) and backbone in TEXT_ENCODERS:
        name = backbone
        recipe = zoo.info(name).recipe.with_overrides(**overrides)
        dataset = data_module.load(
            data_spec(name, data), val_fraction=val_fraction, seed=recipe.seed, download=download
        )
        model = zoo.create(name, data=dataset, seed=recipe.seed, weights="pretrained")
    elif isinstance(backbone, (str, Path)) and Path(backbone).is_dir():
        source = Path(backbone)
        run = open_run(source, load_data=False)
        name, kwargs = run.config["model"]["name"], dict(run.config["model"].get("kwargs", {}))
        for key in BACKBONE_ARGS:
            kwargs.pop(key, None)  # the run's own weights replace the published ones
        recipe = Recipe(**run.config["recipe"])
        defaults = {"freeze_epochs": overrides.get("epochs", recipe.epochs)}  # the head alone, as Keras does
        recipe = recipe.with_overrides(**{**defaults, **overrides})
        dataset = data_module.load(data, val_fraction=val_fraction, seed=recipe.seed, download=download)
        model = zoo.create(name, data=dataset, seed=recipe.seed, **kwargs)
        _transfer(run.model, model, source)
        model.zoo_config["transfer"] = str(source.resolve())  # a restart before epoch 1 transfers again
    else:
        raise UnknownNameError(
            "backbone (a pretrained zoo model, timm:NAME, or a run folder)", str(backbone), PRETRAINED
        )
    return fit(model, dataset, recipe, **other)


def timm_weights_file(arch: str, *, download: bool = False) -> Path:
    """The local file of timm model ``arch``'s default pretrained weights: from the Hugging
    Face cache (fetched into it by ``huggingface_hub`` when ``download``), or for weights
    published by URL only, deepscope's cache (:func:`deepscope.data.published_file`, checked
    against the sha256 prefix in the file's name)."""
    cfg = timm_pretrained_cfg(arch)
    if cfg.hf_hub_id:
        from huggingface_hub import hf_hub_download

        repo, _, revision = cfg.hf_hub_id.partition("@")
        try:
            return Path(
                hf_hub_download(
                    repo, cfg.hf_hub_filename or "model.safetensors", revision=revision or None,
                    local_files_only=not download,
                )
            )  # fmt: skip
        except Exception as error:  # not cached and no download allowed, or the download failed
            how = "the download failed" if download else "they are not in the Hugging Face cache; add --download"
            raise DataError(
                f"timm model {arch}'s pretrained weights ({cfg.hf_hub_id}) are not available: {how} "
                f"({type(error).__name__}), or pass a weights file."
            ) from None
    file = cfg.url.rsplit("/", 1)[-1]
    return data_module.published_file(cfg.url, file, hash_prefix(file), download=download)


TEXT_ENCODERS = ("minilm",)  # pretrained text encoders (deepscope.zoo.encoders)
PRETRAINED = (*BACKBONES, *TEXT_ENCODERS)


def _transfer(source: torch.nn.Module, target: torch.nn.Module, path: Path) -> None:
    """Copy every weight of ``source`` into ``target`` except its head's (a new head for the new
    classes): the layers must match in name and shape."""
    from deepscope.train.finetune import find_head

    head = {id(p) for m in find_head(target) for p in m.parameters()}
    head_names = {name for name, p in target.named_parameters() if id(p) in head}
    state = target.state_dict()
    for key, value in source.state_dict().items():
        if key in head_names:
            continue
        if key not in state or state[key].shape != value.shape:
            raise RunError(f"Run {path}'s layer {key} does not fit the new model (shape {tuple(value.shape)}).")
        state[key] = value
    target.load_state_dict(state)


PRETEXT_TASKS = {"rotation": "rotations", "simclr": "simclr"}  # task -> the data spec's prefix


def pretrain(model: str, data: str, *, task: str = "rotation", **train_kwargs: Any) -> Run:
    """Self-supervised pre-training of zoo entry ``model`` on the samples of ``data``, their
    labels unused: ``rotation`` (``rotations:SPEC``: tell which of 0/90/180/270 degrees each
    image was turned by) or ``simclr`` (``simclr:SPEC``: two random views of each sample must
    find each other in the batch; the views use the ``augment`` policy, ``'auto'`` unless
    given). The run folder is a backbone for :func:`finetune`."""
    if task not in PRETEXT_TASKS:
        raise UnknownNameError("pretext task", task, PRETEXT_TASKS)
    if not isinstance(data, str) or not data:
        raise invalid("data", "an image data spec such as 'mnist:PATH'", data)
    if task == "simclr" and train_kwargs.get("augment") is None:
        train_kwargs = {**train_kwargs, "augment": "auto"}
    return train(model, f"{PRETEXT_TASKS[task]}:{data}", **train_kwargs)


def data_spec(model: str, spec: str) -> str:
    """``spec`` with zoo entry ``model``'s preferred loader settings added where the spec does
    not set them (``'imdb:D'`` -> ``'imdb:D?maxlen=120&max_words=20000'`` for imdb_lstm)."""
    entry = zoo.info(model)
    if not isinstance(spec, str) or not spec:
        raise invalid("data", "a data spec string such as 'digits' or 'mnist:PATH'", spec)
    name = spec.partition(":")[0].partition("?")[0]  # "imdb:D?maxlen=80" and "imdb?maxlen=80"
    if entry.data_options and data_module.DATASETS.get(name).meta["kind"] == entry.kind:
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
    fresh = last_checkpoint(path) is None
    model = _create(zoo_config, path, seed=recipe.seed, pretrained=fresh)
    if fresh and zoo_config.get("transfer"):  # restarted before its first epoch: take the source's layers again
        source = Path(zoo_config["transfer"])
        _transfer(open_run(source, load_data=False).model, model, source)
        model.zoo_config["transfer"] = zoo_config["transfer"]
    data = load_data(config, check=False)
    if isinstance(zoo_config.get("judge"), str):  # a judged GAN: its epochs go on being scored
        kwargs["callbacks"] = [*kwargs.get("callbacks", ()), _judging(model, zoo_config["judge"], data)]
    return fit(model, data, recipe, out=path, resume=True, **kwargs)


def _create(
    zoo_config: dict[str, Any], path: Path, seed: int | None = None, pretrained: bool = False
) -> torch.nn.Module:
    """Rebuild a run's zoo model; a pretrained backbone's published weights are loaded only
    when ``pretrained`` (a run restarted before its first epoch), else its own weights follow."""
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
            **{k: v for k, v in zoo_config.get("kwargs", {}).items() if pretrained or k not in BACKBONE_ARGS},
        )
    except DeepscopeError as error:
        raise RunError(f"Run {path} is damaged: its model cannot be rebuilt ({error})") from None


def open_run(
    path: str | Path,
    *,
    data: Dataset | None = None,
    load_data: bool = True,
    model: torch.nn.Module | None = None,
    judge: str | Path | None = None,
) -> Run:
    """Open run folder ``path``: rebuild its model (zoo entries) or use ``model`` (any other
    nn.Module), load the best weights, and reload its data from the recorded spec (the same
    split; a warning when the data has changed since) unless ``data`` is given or
    ``load_data=False``. A GAN run gets its judge (:func:`open_judge`) for evaluation: the
    classifier run ``judge``, else the one its config.json records (a warning if it is gone)."""
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
    recorded = config["model"].get("judge")
    if judge is not None or isinstance(recorded, str):
        _attach_judge(model, path, config, judge, recorded)
    folder = last_checkpoint(path)
    state = check_state(read_json(folder / "state.json"), folder / "state.json") if folder else None
    history = state["history"] if state else []
    stopped = bool(state and state.get("stopped") and state["epoch"] < config["recipe"]["epochs"])
    return Run(path=path, model=model, data=data, config=config, history=history, stopped_early=stopped)


def _attach_judge(
    model: torch.nn.Module, path: Path, config: dict[str, Any], given: str | Path | None, recorded: Any
) -> None:
    """Give a GAN run's model the judge ``given``, else the ``recorded`` one if it still exists."""
    from deepscope.train.quality import attach_judge

    if config.get("task") != "generation":
        if given is not None:
            raise invalid("judge", f"None: {path} is not a generative run (its task is {config.get('task')!r})", given)
        return
    if given is None and not Path(recorded).is_dir():
        warnings.warn(
            f"Run {path} was judged by {recorded}, which is gone: its evaluations leave out the classifier score "
            "and the Fréchet distance (pass another judge: --judge RUN).",
            stacklevel=3,
        )
        return
    attach_judge(model, open_judge(given if given is not None else recorded))


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
    spec = described["spec"]
    if described.get("info", {}).get("streamed") and spec.startswith("images:"):
        spec = data_module.spec_with_options(spec, {"stream": "yes"})  # streamed for want of memory: stream again
    data = data_module.load(spec, val_fraction=val_fraction, seed=seed)
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


@dataclass(frozen=True)
class TuneResult:
    """A finished search: the chosen point and its validation value, the recipe's own point's
    value (trial 0), the chosen run scored once on test, and every trial."""

    folder: Path
    monitor: str
    best: Trial
    default_value: float | None
    test: dict[str, Any]
    trials: list[Trial]


def default_space(model: str, data: Dataset) -> dict[str, Param]:
    """What ``tune`` searches when given no space: the learning rate a decade either side of
    the recipe's (log scale), batch size, weight decay, and (images) augmentation on or off."""
    recipe = zoo.info(model).recipe
    space = {
        "lr": Param("lr", recipe.lr / 10, min(recipe.lr * 10, 1.0), log=True),
        "batch_size": Param("batch_size", choices=(32, 64, 128)),
        "weight_decay": Param("weight_decay", 1e-6, 1e-1, log=True),
    }
    if data.kind == "image":
        space["augment"] = Param("augment", choices=("none", "auto"))
    return space


def tune(
    model: str,
    data: str = "digits",
    *,
    trials: int = 30,
    space: dict[str, Param] | None = None,
    folder: str | Path | None = None,
    runs_dir: str | Path = "runs",
    pruner: str = "median",
    seed: int = 0,
    timeout: float | None = None,
    val_fraction: float = 0.1,
    download: bool = False,
    echo: Any = None,
    **recipe_overrides: Any,
) -> TuneResult:
    """Choose zoo entry ``model``'s hyperparameters on ``data``'s validation split with Optuna
    (``deepscope.train.tune``): ``trials`` run folders and a resumable ``study.db`` in
    ``folder`` (default ``runs_dir/tune-<model>-<data>``); the recipe's own point is trial 0.
    The test split stays sealed until the search ends; then the best trial is scored on it
    once (kept in ``best.json``; a finished search reopened is not scored again).
    ``recipe_overrides`` (``epochs=3``, ...) change the recipe every trial starts from."""
    from deepscope.train.tasks import make_task
    from deepscope.train.tune import search

    if isinstance(trials, bool) or not isinstance(trials, int) or not 1 <= trials <= 10_000:
        raise invalid("trials", "an int in [1, 10000]", trials)
    entry = zoo.info(model)
    base = entry.recipe.with_overrides(**recipe_overrides)
    dataset = data_module.load(data_spec(model, data), val_fraction=val_fraction, seed=base.seed, download=download)
    if not len(dataset.val):
        raise invalid("val_fraction", "> 0: a search needs a validation split to score trials", val_fraction)
    space = dict(space) if space is not None else default_space(model, dataset)
    builder_args = _builder_args(model)
    for name in space:
        arg = name.removeprefix("model.")
        if name.startswith("model.") and arg not in builder_args:
            raise UnknownNameError(f"argument of {model}", arg, builder_args)
        if not name.startswith("model.") and name not in Recipe.__dataclass_fields__:
            raise UnknownNameError(
                "search parameter (a recipe field, or model.<argument>)", name, Recipe.__dataclass_fields__
            )
    metric = base.monitor.removeprefix("val_")
    task = make_task(entry.task)  # a model's own task (an autoencoder's), else the data's
    if not task.model_task:
        task = make_task(dataset.task)
    direction = "maximize" if task.higher_is_better.get(metric, False) else "minimize"
    folder = Path(folder) if folder is not None else Path(runs_dir) / _safe(f"tune-{model}-{dataset.name}")
    trial_data = sealed(dataset)

    def train_trial(params: dict[str, Any], out: Path, callbacks: list[Any]) -> Run:
        overrides = {k: v for k, v in params.items() if not k.startswith("model.")}
        kwargs = {k.removeprefix("model."): v for k, v in params.items() if k.startswith("model.")}
        recipe = base.with_overrides(**overrides)
        net = zoo.create(model, data=trial_data, seed=recipe.seed, **kwargs)
        return fit(net, trial_data, recipe, out=out, callbacks=callbacks, progress=False)

    study, all_trials = search(
        train_trial,
        space,
        folder=folder,
        trials=trials,
        default={**base.to_dict(), "augment": base.augment or "none"},
        direction=direction,
        monitor=base.monitor,
        pruner=pruner,
        seed=seed,
        timeout=timeout,
        echo=echo,
    )
    complete = [t for t in all_trials if t.state == "complete"]
    if not complete:
        raise RunError(f"No trial of the search in {folder} completed; see the trial folders for why.")
    best = next(t for t in complete if t.number == study.best_trial.number)
    default_value = next((t.value for t in all_trials if t.number == 0), None)
    test = _score_best_once(folder, best, dataset)
    return TuneResult(folder, base.monitor, best, default_value, test, all_trials)


def _score_best_once(folder: Path, best: Trial, data: Dataset) -> dict[str, Any]:
    """The chosen trial's test scores: read from ``best.json`` when that trial was scored
    already, else computed now -- the one time the search reads the test split."""
    from deepscope.train.files import write_json

    record = folder / "best.json"
    if record.is_file():
        saved = read_json(record)
        if isinstance(saved, dict) and saved.get("trial") == best.number and isinstance(saved.get("test"), dict):
            return saved["test"]
    result = open_run(best.path, data=data).evaluate("test")
    scores = {k: v for k, v in result.to_dict().items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    write_json(
        record,
        {"trial": best.number, "params": best.params, "value": best.value, "run": str(best.path), "test": scores},
    )
    return scores


def _safe(text: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def compare(paths: list[str | Path]) -> list[dict[str, Any]]:
    """One row per run folder: name, model, data, parameters, epochs, the monitored metric's
    best validation value and (when ``evaluate``/the report scored it) its test value, and the
    training time -- what ``deepscope compare`` tabulates and plots."""
    if not paths:
        raise invalid("runs", "at least one run folder", paths)
    rows = []
    for path in paths:
        run = open_run(path, load_data=False)
        metric = run.monitor.removeprefix("val_")
        test = None
        metrics_file = run.path / "metrics.json"
        if metrics_file.is_file():
            saved = read_json(metrics_file)
            test_scores = saved.get("test") if isinstance(saved, dict) else None
            if isinstance(test_scores, dict) and isinstance(test_scores.get(metric), (int, float)):
                test = float(test_scores[metric])
        rows.append(
            {
                "name": run.name,
                "model": run.config["model"].get("name") or run.config["model"].get("class"),
                "data": run.config["data"]["name"],
                "parameters": int(run.config.get("parameters", sum(p.numel() for p in run.model.parameters()))),
                "epochs": len(run.history),
                "best_epoch": run.best_epoch,
                "metric": metric,
                "val": run.best_value,
                "test": test,
                "seconds": float(sum(h.get("time", 0.0) for h in run.history)),
            }
        )
    return rows


LEARNING_CURVE_METHODS = ("scratch", "augment", "finetune")


def learning_curve(
    model: str,
    data: str,
    sizes: list[int],
    *,
    methods: tuple[str, ...] = ("scratch", "augment"),
    backbone: str | Path = "efficientnet_lite0",
    seeds: tuple[int, ...] = (0,),
    runs_dir: str | Path = "runs",
    echo: Any = None,
    **recipe_overrides: Any,
) -> list[dict[str, Any]]:
    """Test accuracy against the number of labelled examples: for each size (labelled images
    per class, ``SPEC?per_class=N``: seeded subsets, validation carved from them) and method,
    one run per seed with the same recipe overrides (the budget). Methods: ``scratch`` (zoo
    entry ``model``, no augmentation), ``augment`` (the same with ``augment='auto'``),
    ``finetune`` (``backbone``: a pretrained model name or a run folder). Each run keeps its
    best epoch on validation (its last with ``keep='last'``); its test split is scored once. Rows: method, size, seed,
    validation and test accuracy, seconds."""
    import time

    unknown = [m for m in methods if m not in LEARNING_CURVE_METHODS]
    if unknown or not methods:
        raise UnknownNameError("learning-curve method", (unknown or [""])[0], LEARNING_CURVE_METHODS)
    if not sizes or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in sizes):
        raise invalid("sizes", "labelled examples per class, positive ints", sizes)
    rows = []
    for size in sizes:
        if "per_class=" in data:
            raise invalid("data", "a spec without per_class (the curve sets it)", data)
        spec = data_module.spec_with_options(data, {"per_class": size})
        for method in methods:
            for seed in seeds:
                started = time.perf_counter()
                common = {"seed": seed, "runs_dir": runs_dir, "progress": False, **recipe_overrides}
                if method == "finetune":
                    run = finetune(backbone, spec, **common)
                else:
                    run = train(model, spec, augment="auto" if method == "augment" else "none", **common)
                test = run.evaluate("test").accuracy
                row = {
                    "method": method,
                    "size": size,
                    "seed": seed,
                    "val": run.best_value,
                    "test": test,
                    "seconds": time.perf_counter() - started,
                    "run": str(run.path),
                }
                rows.append(row)
                if echo:
                    echo(f"{method:<9} {size:>5} per class, seed {seed}: val {run.best_value:.4f}, test {test:.4f}")
    return rows
