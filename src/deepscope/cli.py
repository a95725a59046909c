"""The ``deepscope`` command. Thin: parses arguments, calls the public API, prints.

Heavy imports (torch, the API) happen inside the command functions so that
``deepscope --help`` answers at once. Every numeric argument is parsed by a small type
function below (``positive_int``, ``fraction``, ...), so a bad value fails before any work
with one line in the house form: "`--epochs` must be an int >= 1. Received: --epochs='0'".
Every failure ends in one ``error: ...`` line on stderr and exit code 2 (``--debug`` shows
the traceback instead).
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import re
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

__all__ = ["main"]


def _print(*parts: object) -> None:
    print(*parts, flush=True)


# ----------------------------------------------------------------------------- argument types
# Each raises ArgumentTypeError("must be <expected>. Received: <value>"); _Parser.error puts the
# argument's name in front, so every message reads "`--arg` must be ... Received: --arg=...".
MAX_COUNT = 10**9  # epochs, batch size, top-k: the absolute cap of a count


def _bad(expected: str, text: str, note: str = "") -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(f"must be {expected}. Received: {text!r}{note}")


def _int_in(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an int in [low, high]."""
    expected = f"an int >= {low}" if high >= MAX_COUNT else f"an int in [{low}, {high}]"

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise _bad(expected, text) from None
        if not low <= value <= high:
            raise _bad(expected, text)
        return value

    parse.__name__ = expected
    return parse


positive_int = _int_in(1, MAX_COUNT)
nonnegative_int = _int_in(0, MAX_COUNT)


def integer(text: str) -> int:
    """An int; its range is checked where it is used (e.g. the recipe's seed)."""
    try:
        return int(text.strip())
    except ValueError:
        raise _bad("an int", text) from None


def number(text: str) -> float:
    """A number; its range (finite, > 0, ...) is checked where it is used (the recipe's lr)."""
    try:
        return float(text)
    except ValueError:
        raise _bad("a number", text) from None


def fraction(text: str) -> float:
    """A finite float in [0, 1): the share of the training data held out (0: none)."""
    expected = "a fraction in [0, 1) (0: no validation split)"
    try:
        value = float(text)
    except ValueError:
        raise _bad(expected, text) from None
    if not (math.isfinite(value) and 0 <= value < 1):
        raise _bad(expected, text)
    return value


def size(text: str) -> str:
    """A size such as 512MB, 24GB or a number of bytes (checked by deepscope.limits)."""
    from deepscope import limits
    from deepscope.errors import InvalidArgumentError

    try:
        limits.parse_size(text)
    except InvalidArgumentError:
        raise _bad("a positive size such as 512MB, 24GB or a number of bytes", text) from None
    return text


def folder(text: str) -> str:
    """A folder to write into: an existing folder or a path where one can be made (no part of
    it an existing file)."""
    if not text.strip():
        raise _bad("a folder path", text)
    path = Path(text).expanduser()
    for part in (path, *path.parents):
        if part.exists():
            if not part.is_dir():
                note = ", a file" if part == path else f" ({part} is a file)"
                raise _bad("a folder (or a path where one can be made)", text, note)
            break
    return text


def output_file(text: str) -> str:
    """A file to write: not a folder, and its folder an existing one or one that can be made."""
    path = Path(text).expanduser()
    if not text.strip() or path.is_dir():
        raise _bad("a file path to write", text, ", a folder" if path.is_dir() else "")
    folder(str(path.parent))
    return text


def _sizes(text: str) -> str:
    """Comma-separated positive ints (at most 20 of them, each at most 1,000,000)."""
    parts = text.split(",")
    if not 1 <= len(parts) <= 20 or not all(p.strip().isdigit() and 1 <= int(p) <= 10**6 for p in parts):
        raise _bad("comma-separated ints in [1, 1000000] (at most 20)", text)
    return text


def run_folder(text: str) -> str:
    """A run folder; one that does not exist is left to open_run (which says so)."""
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise _bad("a run folder", text, ", a file")
    return text


def _existing_file(text: str) -> str:
    """A file to read: it must exist and be a regular file (not a folder, FIFO or device)."""
    path = Path(text).expanduser()
    if not path.is_file():
        raise _bad("an existing regular file", text, " (missing)" if not path.exists() else ", not a regular file")
    return str(path)


MAX_CONV = 512  # the largest padding, stride or pool `deepscope conv` takes (images are <= 512 a side)


def conv_padding(text: str) -> int | str:
    """'valid', 'same' or an int in [0, MAX_CONV]; bounded by the kernel in write_conv_figures."""
    if text in ("valid", "same"):
        return text
    expected = f"an int in [0, {MAX_CONV}], 'valid' or 'same'"
    try:
        value = int(text.strip())
    except ValueError:
        raise _bad(expected, text) from None
    if not 0 <= value <= MAX_CONV:
        raise _bad(expected, text)
    return value


class _UsageError(Exception):
    """A command line argparse rejected; main() prints it as one line and returns 2."""


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Defaults in the help, except for flags (False) and options without one (None)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default in (None, False) or action.default is argparse.SUPPRESS:
            return action.help or ""
        return super()._get_help_string(action) or ""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors in the house form, raised to main() instead of exiting."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # type: ignore[override]
        found = re.fullmatch(r"argument ([^:]+): must be (.*)\. Received: (.*)", message, flags=re.DOTALL)
        if found:  # one of our type functions: "`--arg` must be ... Received: --arg=..."
            name, expected, received = found.groups()
            raise _UsageError(f"`{name}` must be {expected}. Received: {name}={received}")
        raise _UsageError(f"{message} (see `{self.prog} --help`)")


def _checked_file(path: str, what: str) -> Path:
    """``path`` if it is a regular file (not a folder, FIFO or device), else DataError naming it."""
    from deepscope import limits

    limits.check_regular(path, what)
    return Path(path)


# ----------------------------------------------------------------------------- commands
def cmd_demo(args: argparse.Namespace) -> int:
    """Train the lecture CNN on the built-in digits, evaluate on the test split, report."""
    from deepscope import runs
    from deepscope.report import inside_the_network, write_report

    started = time.perf_counter()
    _print("Training lecture_cnn (conv -> ReLU -> max-pool -> dense -> softmax) on the built-in digits")
    run = runs.train("lecture_cnn", "digits", runs_dir=args.runs_dir, seed=args.seed, progress=not args.quiet)
    _print(f"Data: {run.data}")
    _print(f"Model: lecture_cnn, {sum(p.numel() for p in run.model.parameters()):,} parameters")
    result = run.evaluate("test")
    _print(f"Test accuracy: {result.accuracy:.4f} on {len(result.y_true)} held-out images")
    _print("Inside the network (feature maps of one test digit, filters, top patches):")
    inside_the_network(run, maximize=False, embedding=0, echo=_print)
    report = write_report(run)
    _print(f"Run folder: {run.path}")
    _print(f"Report:     {report}")
    _print(f"            {report.resolve().as_uri()}")
    _print(f"Done in {time.perf_counter() - started:.1f} s")
    return 0


def _target_text(y: Any, classes: Sequence[str] | None) -> str:
    """A sample's target in words: a class label (with its name), a number, or a sequence
    (a CTC transcription, a forecast horizon): its shape and first values."""
    if y.ndim == 0 and not y.dtype.is_floating_point:
        name = f" ({classes[int(y)]})" if classes and 0 <= int(y) < len(classes) else ""
        return f"label {int(y)}{name}"
    if y.ndim == 0:
        return f"target {float(y):.4g}"
    values = ", ".join(f"{float(v):.4g}" for v in y.flatten()[:8]) + (", ..." if y.numel() > 8 else "")
    return f"target {tuple(y.shape)} {y.dtype}: [{values}]"


def cmd_datasets(args: argparse.Namespace) -> int:
    from deepscope.data import DATASETS, load

    if args.check:
        data = load(args.check, download=args.download)
        _print(json.dumps(data.describe(), indent=2))
        if len(data.train):
            sample = data.train[0]
            x, y = sample[0], sample[-1]
            _print(
                f"First training sample: x {tuple(x.shape)} {x.dtype} in [{float(x.min()):.3g}, {float(x.max()):.3g}], "
                + _target_text(y, data.classes)
            )
        return 0
    _print(f"{'name':<14} {'kind':<8} {'spec':<26} what")
    for entry in DATASETS:
        meta = entry.meta
        spec = (
            f"{entry.name}:PATH"
            if meta["needs_path"]
            else f"{entry.name}[:PATH]"
            if meta.get("downloadable")
            else entry.name
        )
        _print(f"{entry.name:<14} {meta['kind']:<8} {spec:<26} {meta['summary']}")
        if meta["needs_path"] or meta.get("downloadable"):
            _print(f"{'':<50} PATH: {entry.meta['expects']}")
    return 0


def cmd_zoo(args: argparse.Namespace) -> int:
    from deepscope import zoo

    if args.summary:
        from deepscope.data import load
        from deepscope.nn import summary

        name = args.summary
        if args.data:
            data = load(args.data)
            model, in_shape = zoo.create(name, data=data), data.input_shape
        else:
            in_shape = zoo.info(name).example_shape
            model = zoo.create(name, in_shape=in_shape, **zoo.info(name).example_kwargs)
        _print(summary(model, in_shape))
        recipe = zoo.info(name).recipe
        defaults = [
            f"{param.name}={param.default!r}"
            for param in inspect.signature(zoo.MODELS.get(name).builder).parameters.values()
            if param.name not in ("in_shape", "num_classes") and param.default is not param.empty
        ]
        if defaults:
            _print("Arguments (`deepscope train MODEL --arg NAME=VALUE`): " + ", ".join(defaults))
        _print(
            "Recipe (what `deepscope train` uses; override with its options): "
            + ", ".join(f"{key}={value}" for key, value in recipe.to_dict().items())
        )
        return 0
    _print(f"{'model':<20} {'kind':<7} {'params':>11}  reference")
    for entry in zoo.MODELS:
        meta = entry.meta["info"]
        model = zoo.create(
            entry.name, in_shape=meta.example_shape, num_classes=meta.example_classes, **meta.example_kwargs
        )
        params = sum(p.numel() for p in model.parameters())
        _print(f"{entry.name:<20} {meta.kind:<7} {params:>11,}  {meta.reference}")
    return 0


RECIPE_OPTIONS = (
    "epochs", "batch_size", "optimizer", "lr", "weight_decay", "schedule", "patience", "keep", "seed", "augment",
    "freeze_epochs", "lr_mult", "cache_features",
)  # fmt: skip


def _recipe_overrides(args: argparse.Namespace) -> dict[str, Any]:
    return {name: getattr(args, name) for name in RECIPE_OPTIONS if getattr(args, name, None) is not None}


def _finish_run(run: Any, args: argparse.Namespace) -> int:
    """What train and finetune print at the end: the best epoch, the folder, the test score
    and the report (unless --no-report). In a torchrun job, rank 0 alone."""
    import os

    if os.environ.get("RANK", "0") != "0":
        return 0
    if run.best_epoch:
        seconds = f"; {run.seconds_per_epoch:.3g} s/epoch" if run.seconds_per_epoch is not None else ""
        early = f" (stopped early after epoch {len(run.history)})" if run.stopped_early else ""
        kept = "Last" if run.config.get("recipe", {}).get("keep") == "last" else "Best"
        _print(f"{kept} epoch {run.best_epoch}: {run.monitor} {run.best_value:.4f}{seconds}{early}")
    _print(f"Run folder: {run.path}")
    if not args.no_report:
        from deepscope.report import write_report

        report = write_report(run)  # evaluates the test split once, into metrics.json
        _print(_test_line(run.path / "metrics.json"))
        _print(f"Report:     {report}")
        _print(f"            {report.resolve().as_uri()}")
    return 0


def cmd_pretrain(args: argparse.Namespace) -> int:
    """Self-supervised pre-training on a dataset's images (labels unused)."""
    from deepscope import runs

    launched = _torchrun(args)
    if launched is not None:
        return launched

    run = runs.pretrain(args.model, args.data, task=args.task, **_run_kwargs(args))
    args.no_report = True  # a pretext task's test score is not the point
    _finish_run(run, args)
    _print(f"Fine-tune it on the labelled images: deepscope finetune {run.path} --data SPEC")
    return 0


def cmd_finetune(args: argparse.Namespace) -> int:
    """Fine-tune a pretrained network (or a run) on a dataset: new head, frozen, then all."""
    from deepscope import runs

    launched = _torchrun(args)
    if launched is not None:
        return launched

    run = runs.finetune(args.backbone, args.data, weights_file=args.weights, size=args.size, **_run_kwargs(args))
    return _finish_run(run, args)


def cmd_tune(args: argparse.Namespace) -> int:
    """Optuna search on the validation metric; the chosen trial scored once on test."""
    from deepscope import runs
    from deepscope.train import parse_space, read_space

    space = None
    if args.space and args.param:
        from deepscope.errors import invalid

        raise invalid("--param", "not given with --space (one search space)", args.param)
    if args.space:
        space = read_space(_checked_file(args.space, "search space file"))
    elif args.param:
        space = parse_space(args.param)
    started = time.perf_counter()
    result = runs.tune(
        args.model,
        args.data,
        trials=args.trials,
        space=space,
        folder=args.folder,
        runs_dir=args.runs_dir,
        pruner=args.pruner,
        seed=args.seed,
        timeout=args.timeout,
        val_fraction=args.val_fraction,
        download=args.download,
        echo=_print,
        **({"epochs": args.epochs} if args.epochs else {}),
    )
    states = {}
    for trial in result.trials:
        states[trial.state] = states.get(trial.state, 0) + 1
    _print(f"\n{len(result.trials)} trials ({', '.join(f'{n} {s}' for s, n in states.items())}) in {result.folder}")
    default = f"{result.default_value:.4f}" if result.default_value is not None else "-"
    _print(f"recipe's own point (trial 0): {result.monitor} {default}")
    shown = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in result.best.params.items())
    _print(f"best (trial {result.best.number}): {result.monitor} {result.best.value:.4f} with {shown}")
    if "accuracy" in result.test:
        _print(f"its test accuracy, scored once after the search: {result.test['accuracy']:.4f}")
    _print(
        f"run folder: {result.best.path}; study: {result.folder / 'study.db'} ({time.perf_counter() - started:.0f} s)"
    )
    return 0


def cmd_lr_find(args: argparse.Namespace) -> int:
    """The learning-rate range test on a zoo model and dataset; prints the suggestion, draws the curve."""
    from deepscope import plots, zoo
    from deepscope.data import load
    from deepscope.runs import data_spec
    from deepscope.train import lr_find

    recipe = zoo.info(args.model).recipe.with_overrides(**_recipe_overrides(args))
    data = load(
        data_spec(args.model, args.data), val_fraction=args.val_fraction, seed=recipe.seed, download=args.download
    )
    model = zoo.create(args.model, data=data, seed=recipe.seed)
    result = lr_find(model, data, recipe, start=args.start, end=args.end, steps=args.steps, device=args.device)
    out = Path(args.out) if args.out else Path(args.runs_dir) / _safe_name(f"lr-find-{args.model}-{data.name}.png")
    out.parent.mkdir(parents=True, exist_ok=True)
    plots.save_figure(plots.lr_find_figure(result), out)
    _print(
        f"{args.model} on {data.name} ({recipe.optimizer}, batch {recipe.batch_size}): suggested lr {result.suggestion:.2g} "
        f"(steepest descent); a decade below the minimum: {result.minimum:.2g}; the recipe's lr: {recipe.lr:.2g}"
    )
    _print(f"Curve: {out}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Runs side by side: a table and a figure of their validation/test scores, size and time."""
    from deepscope import plots, runs

    rows = runs.compare(args.runs)
    _print(f"{'run':<34} {'model':<18} {'params':>11} {'epochs':>6} {'metric':<9} {'val':>7} {'test':>7} {'time':>8}")
    for row in rows:
        val = f"{row['val']:.4f}" if row["val"] is not None else "-"
        test = f"{row['test']:.4f}" if row["test"] is not None else "-"
        _print(
            f"{row['name'][:34]:<34} {str(row['model'])[:18]:<18} {row['parameters']:>11,} {row['epochs']:>6} "
            f"{row['metric'][:9]:<9} {val:>7} {test:>7} {row['seconds']:>7.1f}s"
        )
    if any(row["test"] is None for row in rows):
        _print("(test: '-' where the run was not scored on test yet: `deepscope evaluate RUN`)")
    out = Path(args.out) if args.out else Path(args.runs_dir) / "compare.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    plots.save_figure(plots.compare_figure(rows), out)
    _print(f"Figure: {out}")
    return 0


def cmd_learning_curve(args: argparse.Namespace) -> int:
    """Test accuracy against labelled examples per class, for each method: the figure that
    says which small-data tool to reach for."""
    from deepscope import plots, runs
    from deepscope.atomic import atomic_write

    sizes = [int(n) for n in args.sizes.split(",")]
    rows = runs.learning_curve(
        args.model,
        args.data,
        sizes,
        methods=tuple(m.strip() for m in args.methods.split(",")),
        backbone=args.backbone,
        seeds=tuple(range(args.seeds)),
        runs_dir=args.runs_dir,
        echo=_print,
        **({"epochs": args.epochs} if args.epochs else {}),
        **({"keep": args.keep} if args.keep else {}),
    )
    stem = _safe_name(f"learning-curve-{args.model}-{args.data.partition(':')[0]}")
    out = Path(args.out) if args.out else Path(args.runs_dir) / f"{stem}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    plots.save_figure(plots.learning_curve_figure(rows, title=f"{args.model} on {args.data}"), out)
    table = out.with_suffix(".json")
    atomic_write(table, lambda tmp: tmp.write_text(json.dumps(rows, indent=1), encoding="utf-8"))
    _print(f"Figure: {out}\nRuns:   {table}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from deepscope import runs
    from deepscope.errors import invalid

    launched = _torchrun(args)
    if launched is not None:
        return launched

    overrides = _recipe_overrides(args)
    if args.resume:
        ignored = [f"--{name.replace('_', '-')}" for name in overrides] + (["MODEL"] if args.model else [])
        ignored += [
            opt
            for opt, given in (
                ("--out", args.out),
                ("--data", args.data != "digits"),
                ("--judge", args.judge),
                ("--arg", args.arg),
            )
            if given
        ]
        if ignored:
            raise invalid(
                "--resume",
                f"given alone: a run resumes with its own model, data and recipe (drop {', '.join(ignored)})",
                args.resume,
            )
        run = runs.resume(args.resume, progress=not args.quiet, **_speed_kwargs(args))
    else:
        if not args.model:
            raise invalid("model", "a zoo model name (see `deepscope zoo`)", args.model)
        model_args = _model_args(args.arg)
        run = runs.train(args.model, args.data, judge=args.judge, model_args=model_args, **_run_kwargs(args))
    return _finish_run(run, args)


def _model_args(items: list[str] | None) -> dict[str, Any]:
    """``--arg depth=56 --arg version=2`` as {"depth": 56, "version": 2}."""
    from deepscope.errors import invalid
    from deepscope.recipe import parse_value

    parsed: dict[str, Any] = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise invalid("--arg", "NAME=VALUE, a model builder argument (e.g. --arg depth=56)", item)
        parsed[name.strip()] = parse_value(value)
    return parsed


def _test_line(metrics_path: Path) -> str:
    """The test score the report recorded: 'Test accuracy 0.9611 on 180 samples ...'."""
    from deepscope.train import primary_score

    test = json.loads(metrics_path.read_text(encoding="utf-8")).get("test") or {}
    samples = f" on {test['samples']} samples" if "samples" in test else ""
    cards = [card for card in test.get("cards") or [] if isinstance(test.get(card[1]), (int, float))]
    if cards:  # a task evaluation (reconstruction, generation, pairs, CTC, ...): its first card
        label, key = cards[0]
        return f"Test {label} {test[key]:.4f}{samples} (the test split, scored once for the report)"
    if "accuracy" in test:
        return f"Test accuracy {test['accuracy']:.4f}{samples} (the test split, scored once for the report)"
    if test:
        name = primary_score(test)
        baseline = test.get("baseline") or {}
        versus = f"; {baseline['name']} {baseline[name]:.4f}" if name in baseline and "name" in baseline else ""
        return f"Test {name.upper()} {test[name]:.4f}{samples}{versus} (the test split, scored once for the report)"
    return "Test split: not scored (the run's data has no test split)"


def cmd_export(args: argparse.Namespace) -> int:
    """A run's model as ONNX / TorchScript / safetensors, checked against PyTorch."""
    from deepscope import export

    result = export.export(args.run, args.format, args.out, check=not args.no_check)
    _print(f"Wrote {result.path} ({result.format}" + (f", {result.exporter})" if result.exporter else ")"))
    for extra in result.files[1:]:
        _print(f"      {extra} (what turns raw text into the model's input)")
    if result.max_abs_diff is not None:
        engine = "ONNX Runtime" if result.format == "onnx" else "the loaded TorchScript"
        _print(f"Checked: {engine} vs PyTorch, max |difference| {result.max_abs_diff:.2g} at batch sizes 1 and 5")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from deepscope import runs
    from deepscope.train import resolve_device

    run = runs.open_run(args.run, judge=args.judge)
    run.model.to(resolve_device(args.device))
    result = run.evaluate(args.split)
    if args.json:
        _print(json.dumps(result.to_dict(), indent=2))
        return 0
    samples = result.samples if hasattr(result, "samples") else len(result.y_true)
    _print(f"{run.name} on the {args.split} split ({samples} samples)\n")
    _print(result.text())
    _print(f"\nWritten to {run.path / 'metrics.json'}")
    return 0


def _read_inputs(run, files: list[str]) -> tuple[list[str], Any]:
    """(a name per input, the batch) for a classification run: images of any size or mode,
    raw texts (``@file.txt`` reads a regular file, at most the text cap) tokenized like the
    training texts, or series files (CSV rows, .ts/.tsv/.arff) prepared like the training
    series; a file of several series gives ``FILE:1``, ``FILE:2``, ..."""
    import torch

    from deepscope import limits
    from deepscope.data import read_image

    kind = run.config["data"]["kind"]
    in_shape = tuple(run.config["data"]["input_shape"])
    if kind == "text":
        from deepscope.data import Vocabulary

        texts = [limits.read_text(f[1:], "text file") if f.startswith("@") else f for f in files]
        return list(files), Vocabulary.load(run.path / "vocab.json").encode(texts)  # (N, maxlen)
    if kind == "series":
        from deepscope.data import read_series

        prep = run.config["data"].get("info", {}).get("preprocess", {})
        batches = [read_series(_checked_file(f, "series file"), in_shape, prep) for f in files]  # each (n, C, T)
        names = [f if len(b) == 1 else f"{f}:{i + 1}" for f, b in zip(files, batches) for i in range(len(b))]
        return names, torch.cat(batches)
    return list(files), torch.stack([read_image(_checked_file(f, "image file"), in_shape) for f in files])


def cmd_predict(args: argparse.Namespace) -> int:
    from deepscope import runs
    from deepscope.train import predict_proba, resolve_device

    run = runs.open_run(args.run, load_data=False)
    run.model.to(resolve_device(args.device))
    kind, task = run.config["data"]["kind"], run.config["data"].get("task", "classification")
    if kind == "series" and task == "regression":
        return _predict_forecast(run, args)
    if task != "classification" or kind not in ("image", "text", "series"):
        from deepscope.errors import InvalidArgumentError

        raise InvalidArgumentError(
            f"`deepscope predict` takes image, text and series runs (classifiers, and "
            f"forecasters for series); {args.run} is a {kind} ({task}) run: score it with "
            "`deepscope evaluate`, or call its model from Python."
        )
    classes = run.config["data"]["classes"]
    names, x = _read_inputs(run, args.files)
    probs = predict_proba(run.model, x)  # (N, classes)
    if probs.shape[1] != len(classes):
        from deepscope.errors import RunError

        raise RunError(
            f"Run {run.path} is damaged: config.json names {len(classes)} classes but the model has "
            f"{probs.shape[1]} outputs."
        )
    k = min(args.top, len(classes))
    results = []
    for f, p in zip(names, probs):
        values, indices = p.topk(k)
        results.append(
            {
                "file": f,
                "top": [
                    {"class": classes[i], "probability": float(v)} for v, i in zip(values.tolist(), indices.tolist())
                ],
            }
        )
    if args.json:
        _print(json.dumps(results, indent=2))
    else:
        for r in results:
            _print(f"{r['file']}: " + ", ".join(f"{t['class']} {t['probability']:.3f}" for t in r["top"]))
    return 0


def _predict_forecast(run, args: argparse.Namespace) -> int:
    """Forecast past the end of each series in each file: the last `history` values in, the
    next `horizon` values out."""
    from deepscope.data import forecast_inputs
    from deepscope.train import predict_outputs

    history = int(run.config["data"]["input_shape"][-1])
    results = []
    for f in args.files:
        names, x = forecast_inputs(_checked_file(f, "series file"), history)  # (N, 1, history)
        forecasts = predict_outputs(run.model, x).reshape(len(names), -1)  # (N, horizon)
        results += [{"file": f, "series": name, "forecast": values} for name, values in zip(names, forecasts.tolist())]
    if args.json:
        _print(json.dumps(results, indent=2))
        return 0
    for r in results:
        steps = len(r["forecast"])
        _print(
            f"{r['file']}:{r['series']}: next {steps} step{'s' if steps != 1 else ''}: "
            + ", ".join(f"{v:.4g}" for v in r["forecast"])
        )
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    """A grid of images drawn from a GAN run, as one PNG."""
    import torch

    from deepscope import plots, runs
    from deepscope.errors import InvalidArgumentError
    from deepscope.train import resolve_device

    run = runs.open_run(args.run, load_data=False)
    task = run.config.get("task") or run.config["data"].get("task", "classification")
    device = resolve_device(args.device)
    model = run.model.to(device)
    draw = getattr(model, "sample", None) if task == "density" else getattr(model, "generate", None)
    if task not in ("generation", "density", "reconstruction") or not callable(draw):
        raise InvalidArgumentError(
            f"`deepscope generate` draws images from generative runs (dcgan, mnist_acgan, variational_autoencoder, "
            f"pixelcnn); {args.run} is a {task} run of {run.config['model'].get('name')!r}."
        )
    if task != "generation":  # a VAE decodes codes from its prior; a PixelCNN samples pixel by pixel
        if args.class_ is not None:
            raise InvalidArgumentError(
                f"`--class` must not be given: {args.run} models images without classes. Received: --class={args.class_}"
            )
        images = draw(args.n, generator=torch.Generator(device).manual_seed(args.seed))
        out = Path(args.out) if args.out else run.path / "generated" / f"samples-seed{args.seed}.png"
        title = f"{run.name}: {args.n} samples (seed {args.seed})"
        _print(plots.save_figure(plots.image_grid_figure(images.float().cpu().numpy(), 8, None, title), out))
        return 0
    gan = model
    classes = run.config["data"].get("classes") or [str(k) for k in range(gan.num_classes)]
    labels, columns = None, 8
    if args.class_ is not None:
        if not gan.conditional:
            raise InvalidArgumentError(
                f"`--class` must not be given: {args.run} is an unconditional GAN (it cannot be asked for a class). "
                f"Received: --class={args.class_}"
            )
        labels = torch.full((args.n,), _class_index(args.class_, classes[: gan.num_classes]))
    elif gan.conditional:  # every class in turn: one column per class
        labels, columns = torch.arange(args.n) % gan.num_classes, gan.num_classes
    images = gan.generate(args.n, labels=labels, generator=torch.Generator().manual_seed(args.seed))
    names = [classes[k] for k in labels.tolist()] if labels is not None and args.class_ is None else None
    which = f" of class {classes[int(labels[0])]}" if args.class_ is not None else ""
    stem = f"samples-seed{args.seed}" + (f"-class{args.class_}" if args.class_ is not None else "")
    out = Path(args.out) if args.out else run.path / "generated" / f"{_safe_name(stem)}.png"
    title = f"{run.name}: {args.n} samples{which} (seed {args.seed})"
    _print(plots.save_figure(plots.image_grid_figure(images.cpu().numpy(), columns, names, title), out))
    return 0


def _class_index(text: str, classes: list[str]) -> int:
    """A class given by name or index, as ``--class`` takes it."""
    if text in classes:
        return classes.index(text)
    if text.strip().isdigit() and int(text) < len(classes):
        return int(text)
    from deepscope.errors import InvalidArgumentError

    shown = ", ".join(classes[:12]) + (", ..." if len(classes) > 12 else "")
    raise InvalidArgumentError(
        f"`--class` must be a class name ({shown}) or an index in [0, {len(classes) - 1}]. Received: --class={text}"
    )


def cmd_report(args: argparse.Namespace) -> int:
    from deepscope import runs
    from deepscope.report import write_report

    run = runs.open_run(args.run)
    _print(f"Report: {write_report(run)}")
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from deepscope import runs
    from deepscope.data import read_image
    from deepscope.report import inside_plan, inside_the_network, write_report
    from deepscope.train import resolve_device

    run = runs.open_run(args.run, load_data=False)
    run.model.to(resolve_device(args.device))
    x = read_image(Path(args.input), tuple(run.config["data"]["input_shape"])) if args.input else None
    inside_plan(run, x, args.layers, embedding=args.embedding)  # what applies; fails at once if nothing does
    run.data = runs.load_data(run.config)
    _print(f"Inspecting {run.name}; figures:")
    inside_the_network(
        run, x, args.layers, k=args.k, maximize=not args.no_maximize, embedding=args.embedding, echo=_print
    )
    _print(f"Report: {write_report(run)}")
    return 0


def _explain_target(text: str | None, classes: list[str]) -> int | None:
    if text is None:
        return None
    if text in classes:
        return classes.index(text)
    if text.isdigit() and int(text) < len(classes):
        return int(text)
    from deepscope.errors import UnknownNameError

    raise UnknownNameError("target class", text, classes)


def cmd_explain(args: argparse.Namespace) -> int:
    import time

    from deepscope import explain, plots, runs
    from deepscope.atomic import write_text
    from deepscope.errors import InvalidArgumentError
    from deepscope.train import resolve_device

    run = runs.open_run(args.run, load_data=False)
    run.model.to(resolve_device(args.device))
    kind, task = run.config["data"]["kind"], run.config["data"].get("task", "classification")
    if task != "classification" or kind not in ("image", "text", "series"):
        raise InvalidArgumentError(
            f"`deepscope explain` takes image, text and series classifiers; {args.run} is a {kind} ({task}) run."
        )
    if not args.files and not args.test:
        raise InvalidArgumentError(
            "`deepscope explain` needs INPUT files/texts or --test N (the first N test samples)."
        )
    classes = run.config["data"]["classes"]
    names, x = _read_inputs(run, args.files) if args.files else ([], None)
    if args.test:
        import torch

        test = runs.load_data(run.config).test.tensors[0][: args.test]
        names += [f"test[{i}]" for i in range(len(test))]
        x = test if x is None else torch.cat([x, test])
    applicable = explain.applicable_methods(run.model, kind)
    if args.compare or args.method == "all":
        methods = applicable
    elif args.method is None:
        methods = [explain.default_method(run.model, kind)]
    else:
        methods = [args.method]
    target = _explain_target(args.target, classes)
    out = Path(args.out) if args.out else run.path / "explain"
    out.mkdir(parents=True, exist_ok=True)
    tokens = None
    if kind == "text":
        from deepscope.data import Vocabulary

        tokens = Vocabulary.load(run.path / "vocab.json").tokens
    results, seconds = [], {}
    for method in methods:
        start = time.perf_counter()
        results.append(
            explain.explain(run.model, x, target=target, method=method, seed=args.seed, n_samples=args.samples)
        )
        seconds[method] = time.perf_counter() - start
    first = results[0]
    for i, name in enumerate(names):
        t = int(first.target[i])
        _print(f"{name}: explaining {classes[t]} (p={float(first.probabilities[i, t]):.3f})")
        stem = _safe_name(Path(name).stem if kind != "text" else f"text-{i + 1}") or f"input-{i + 1}"
        path = plots.save_figure(
            plots.attribution_figure(results, i, classes=classes, tokens=tokens), out / f"{stem}.png"
        )
        _print(f"  {path}")
        if kind == "text":
            ids = x[i].tolist()
            keep = [k for k, v in enumerate(ids) if v != 0]
            words = plots.text_tokens([ids[k] for k in keep], tokens)
            body = "".join(
                f"<h3>{a.method}</h3>" + plots.highlighted_text_html(words, a.values[i].numpy()[keep]) for a in results
            )
            write_text(out / f"{stem}.html", f"<!doctype html><meta charset='utf-8'><body>{body}</body>")
            _print(f"  {out / f'{stem}.html'}")
    if args.compare:
        curves = [explain.faithfulness(run.model, a) for a in results]
        _print(f"\nFaithfulness over {len(x)} input(s) (deletion: lower is better; insertion: higher is better)")
        _print(f"  {'method':<22}{'deletion':>10}{'insertion':>11}{'seconds':>9}")
        for curve in curves:
            f = curve.summary()
            _print(
                f"  {curve.method:<22}{f['deletion_area']:>10.3f}{f['insertion_area']:>11.3f}{seconds[curve.method]:>9.2f}"
            )
        _print(f"  {plots.save_figure(plots.faithfulness_figure(curves), out / 'faithfulness.png')}")
    return 0


def cmd_interpret(args: argparse.Namespace) -> int:
    from deepscope import runs
    from deepscope.errors import InvalidArgumentError
    from deepscope.report import interpretation_figures

    run = runs.open_run(args.run)
    if run.config["data"].get("task", "classification") != "classification":
        raise InvalidArgumentError(f"`deepscope interpret` takes classifiers; {args.run} is a regression/seq2seq run.")
    if not len(run.data.split(args.split)):
        raise InvalidArgumentError(f"Run {run.path} has no {args.split} split to interpret (try --split test).")
    evaluation = run.evaluate(args.split)
    tokens = None
    if run.data.kind == "text":
        from deepscope.data import Vocabulary

        tokens = Vocabulary.load(run.path / "vocab.json").tokens
    result, text, figures = interpretation_figures(
        run.model,
        run.data,
        evaluation.y_true,
        evaluation.probs,
        evaluation.classes,
        run.path / "figures",
        tokens=tokens,
        split=args.split,
        k=args.k,
    )
    _print(f"{run.name}, {args.split} split: {text}")
    _print(f"top {min(args.k, len(result.y_true))} losses (sample: true -> predicted, p, loss):")
    for i in result.top_losses(args.k):
        pred, true = int(result.y_pred[i]), int(result.y_true[i])
        _print(
            f"  {int(i)}: {result.classes[true]} -> {result.classes[pred]}, p={result.probs[i, pred]:.3f}, "
            f"loss {result.losses[i]:.3f}"
        )
    _print("figures:")
    for png, _ in figures:
        _print(f"  {png}")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    import torch

    from deepscope import explain, plots, runs
    from deepscope.atomic import write_json
    from deepscope.data import CUES, read_image
    from deepscope.errors import InvalidArgumentError

    run = runs.open_run(args.run)
    if run.data.kind != "image" or run.data.task != "classification":
        raise InvalidArgumentError(f"`deepscope audit` takes image classifiers; {args.run} is {run.data.kind} data.")
    classes = run.data.classes
    settings = run.data.info.get("shortcut", {})
    cue = args.cue or settings.get("cue")
    cue_class = args.cue_class if args.cue_class is not None else settings.get("class")
    if (cue is None) != (cue_class is None):
        raise InvalidArgumentError("`--cue` and `--cue-class` go together (the cue and the class it may stand for).")
    cue_index = _explain_target(cue_class, classes) if cue_class is not None else None
    region = args.region or cue
    if region is None:
        raise InvalidArgumentError(
            f"Say what to audit: --region {'|'.join(CUES)}|MASK.png, and/or --cue CUE --cue-class CLASS "
            "(runs trained on shortcut: data know their cue)."
        )
    if region not in CUES:
        c, h, w = run.data.input_shape
        region = read_image(_checked_file(region, "region mask"), (1, h, w))[0] > 0.5
    x, y = run.data.test.tensors
    generator = torch.Generator().manual_seed(args.seed)
    pick = torch.randperm(len(y), generator=generator)[: args.n]
    result = explain.audit(
        run.model, x[pick], y[pick], classes, region=region, cue=cue, cue_class=cue_index, method=args.method
    )
    _print(result.text())
    out = run.path / "figures"
    write_json(run.path / "audit.json", result.to_dict())
    _print(f"  {run.path / 'audit.json'}")
    if result.examples:
        _print(f"  {plots.save_figure(plots.audit_figure(result, classes), out / 'audit_examples.png')}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from deepscope.errors import InvalidArgumentError

    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise InvalidArgumentError(
            "`deepscope serve` needs FastAPI and uvicorn: pip install 'deepscope[serve]'."
        ) from None
    from deepscope.serve import serve

    serve(args.runs, host=args.host, port=args.port, echo=_print)
    return 0


CONV_EXAMPLES = ("cross", "ell", "digit")
# The ops of deepscope.data.augment.OPS, spelled out so `--help` need not import torch (a test
# keeps the two equal).
AUGMENT_OPS = (
    "images: flip, vflip, shift, rotate, scale, crop, color, erase, randaugment, trivialaugment, mixup, cutmix; "
    "series: jitter, scaling, magnitude-warp, time-warp, window-slice; text: token-dropout, token-swap"
)


def _conv_image(spec: str) -> tuple[np.ndarray, str]:
    """(H, W) grey image in [0, 1] and a short name for ``deepscope conv IMAGE``: a file, or
    ``example:cross`` / ``example:ell`` (7x7 binary) / ``example:digit`` (scikit-learn digit 0)."""
    from deepscope import mechanics
    from deepscope.errors import UnknownNameError

    if spec.startswith("example:"):
        name = spec.partition(":")[2]
        if name == "digit":
            from sklearn.datasets import load_digits

            return load_digits().images[0] / 16.0, "digit"  # (8, 8), a handwritten 0
        if name not in CONV_EXAMPLES:
            raise UnknownNameError("example image", name, CONV_EXAMPLES)
        return mechanics.example_image(name), name
    from deepscope.data import open_image, to_array

    path = _checked_file(spec, "image file")
    return to_array(open_image(path), "L") / 255.0, path.stem  # (H, W)


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "image"


def cmd_conv(args: argparse.Namespace) -> int:
    """Convolution mechanics as pictures: conv -> ReLU -> pool, a kernel stack, pooling's
    shift invariance and (with --steps) the window sliding, as PNGs and a GIF, written into
    --out (default: <runs dir>/conv-<image>-<kernel>/)."""
    from deepscope import mechanics, plots

    image, name = _conv_image(args.image)
    if args.kernel_file:
        kernel_path = _checked_file(args.kernel_file, "kernel file")
        kernel, kernel_name = mechanics.load_kernel(kernel_path), kernel_path.name
    else:
        kernel_name = args.kernel or "edge-h"
        kernel = mechanics.get_kernel(kernel_name)
    out = Path(args.out) if args.out else Path(args.runs_dir) / _safe_name(f"conv-{name}-{Path(kernel_name).stem}")
    paths = plots.write_conv_figures(
        image,
        kernel,
        kernel_name,
        out,
        padding=args.padding,
        stride=args.stride,
        pool=args.pool,
        steps=args.steps,
        stack_kernel=bool(args.kernel_file),
        echo=_print,
    )
    _print(f"Figures in {out}/:")
    for path in paths:
        _print(f"  {path}")
    return 0


def cmd_lesson(args: argparse.Namespace) -> int:
    """List the lessons, or run one into a folder and say what it wrote and measured."""
    from deepscope import lessons

    if not args.name:
        _print(f"{'lesson':<10} what it shows")
        for name in lessons.lesson_names():
            meta = lessons.get(name).meta
            data = f" (--data SPEC, default {meta['data_default']})" if meta["takes_data"] else ""
            _print(f"{name:<10} {meta['summary']}{data}")
        _print("Run one with `deepscope lesson NAME`; its page is lessons/NAME/lesson.html.")
        return 0
    if args.run:
        from deepscope import open_run
        from deepscope.errors import invalid

        if args.data:
            raise invalid("--data", "left out with --run: the run's own data is used", args.data)
        run = open_run(args.run, load_data=False)
        result = lessons.run(
            args.name, args.out, seed=args.seed, data=run.config["data"]["spec"], model=run.model, echo=_print
        )
    else:
        result = lessons.run(args.name, args.out, seed=args.seed, data=args.data, echo=_print)
    _print(f"{result.title}: {len(result.files)} files in {result.out}/ ({result.seconds:.1f} s)")
    for path in result.files:
        _print(f"  {path}")
    _print(f"Page: {result.page.resolve().as_uri()}")
    return 0


def cmd_augment(args: argparse.Namespace) -> int:
    """Originals beside their augmented versions, to look at a policy before training with it."""
    from deepscope import plots
    from deepscope.atomic import atomic_write
    from deepscope.data import augment_preview, load
    from deepscope.errors import invalid

    data = load(args.data, download=args.download)
    shown = augment_preview(data, args.policy, n=args.n, versions=args.versions, seed=args.seed)
    _print(f"{args.policy} -> {shown.policy}" + (f" ({shown.policy.reason})" if shown.policy.reason else ""))
    stem = _safe_name(f"augment-{data.name}-{args.policy}")
    if data.kind == "text":
        if "vocab.json" not in data.files:
            raise invalid("data", "text data with a vocabulary", args.data)
        out = Path(args.out) if args.out else Path(args.runs_dir) / f"{stem}.txt"
        text = plots.augment_text(shown, data.files["vocab.json"]["tokens"])
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(out, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        _print(text[:2000].rstrip())
    elif data.kind in ("image", "series"):
        out = Path(args.out) if args.out else Path(args.runs_dir) / f"{stem}.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        plots.save_figure(plots.augment_figure(shown), out)
    else:
        raise invalid("data", "image, series or text data", f"{args.data} ({data.kind})")
    _print(f"Written to {out}")
    return 0


def cmd_words(args: argparse.Namespace) -> int:
    """Embedding view of a text run: nearest neighbours of words and a 2-D map of frequent words."""
    from deepscope import inspect, plots, runs
    from deepscope.data import Vocabulary
    from deepscope.errors import invalid

    run = runs.open_run(args.run, load_data=False)
    if run.config["data"]["kind"] != "text":
        raise invalid("run", "a run trained on text data", str(run.path))
    vocab = Vocabulary.load(run.path / "vocab.json")
    for found in inspect.nearest_words(run.model, None, vocab.tokens, args.near or [], k=args.k):
        _print(f"{found.word:>14}: " + ", ".join(f"{w} {s:.2f}" for w, s in zip(found.words, found.similarities)))
    if args.map:
        mapped = inspect.word_map(
            run.model,
            None,
            vocab.tokens,
            n=args.map,
            method=args.method,
            maxlen=vocab.maxlen,
            classes=run.config["data"]["classes"],
        )
        _print(plots.save_figure(plots.word_map_figure(mapped), run.path / "figures" / "word_map.png"))
    return 0


# ----------------------------------------------------------------------------- parser
def _command(sub: Any, name: str, summary: str, description: str | None = None) -> argparse.ArgumentParser:
    """A subcommand: ``summary`` in ``deepscope --help``, ``description`` (default: the
    summary) at the top of ``deepscope NAME --help``."""
    text = description or summary
    return sub.add_parser(name, help=summary, description=text[0].upper() + text[1:])


def _add_recipe_options(p: argparse.ArgumentParser) -> None:
    """The options that override a recipe's fields (train, finetune)."""
    p.add_argument("--epochs", type=positive_int, metavar="N", help="passes over the training data")
    p.add_argument("--batch-size", type=positive_int, metavar="N", help="samples per gradient step")
    p.add_argument("--optimizer", help="sgd, adam, adamw, rmsprop, adadelta")
    p.add_argument("--lr", type=number, metavar="LR", help="learning rate (> 0)")
    p.add_argument("--weight-decay", type=number, metavar="WD", help="L2 weight decay (>= 0)")
    p.add_argument("--schedule", help="constant, onecycle, cosine, step")
    p.add_argument(
        "--patience", type=positive_int, metavar="N", help="early stopping: epochs without validation improvement"
    )
    p.add_argument(
        "--keep",
        choices=("best", "last"),
        help="the weights kept: the best epoch on validation (default) or the last (for validation splits "
        "of a few samples, too small to choose an epoch)",
    )
    p.add_argument(
        "--augment",
        metavar="POLICY",
        help=f"augmentation: none, auto (what suits the data), or ops joined by '+', e.g. flip+shift=0.1 ({AUGMENT_OPS})",
    )
    p.add_argument(
        "--freeze-epochs",
        type=_int_in(0, 10**6),
        metavar="N",
        help="fine-tuning: epochs that train the head alone on the frozen backbone",
    )
    p.add_argument(
        "--lr-mult",
        type=number,
        metavar="M",
        help="fine-tuning: the head's learning rate over the first layers' (discriminative rates; 1: off)",
    )
    p.add_argument(
        "--cache-features",
        action="store_true",
        default=None,
        help="fine-tuning: compute the frozen backbone's features once and train the head on them during the "
        "frozen epochs (no augmentation then)",
    )


def _add_run_options(p: argparse.ArgumentParser, *, report: bool = True, download: str = "") -> None:
    """The recipe options and what every training command takes: seed, validation share,
    where the run goes, downloads, the report, the progress display."""
    _add_recipe_options(p)
    p.add_argument("--seed", type=integer, help="random seed in [0, 2**32)")
    p.add_argument(
        "--val-fraction",
        type=fraction,
        default=0.1,
        metavar="F",
        help="share of the training data held out for validation (0: none)",
    )
    p.add_argument("--out", type=folder, metavar="DIR", help="run folder (default: RUNS_DIR/<model>-<data>-<n>)")
    p.add_argument("--runs-dir", type=folder, default="runs", help="where new run folders go")
    p.add_argument("--download", action="store_true", help=download or "download standard datasets if missing")
    if report:
        p.add_argument(
            "--no-report",
            action="store_true",
            help="skip report.html (it evaluates the test split once, for the record, after training)",
        )
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.add_argument(
        "--cache",
        action="store_true",
        help="image folders: stream the images through a uint8 memory-mapped cache at the target size, "
        "filled on the first epoch (the spec setting images:PATH?cache=yes)",
    )
    _add_speed_options(p)
    p.add_argument(
        "--nproc",
        type=_int_in(1, 1024),
        metavar="N",
        help="data-parallel processes on this machine (launches torchrun; one per GPU, or gloo on CPUs)",
    )
    p.add_argument(
        "--nnodes", metavar="M", help="with --nproc: machines taking part (torchrun --nnodes, e.g. 2 or 1:4)"
    )
    p.add_argument(
        "--rdzv-endpoint", metavar="HOST:PORT", help="with --nnodes: where the machines meet (torchrun's rendezvous)"
    )


def _add_device_option(p: argparse.ArgumentParser, default: str = "cpu") -> None:
    """``--device`` of the commands that run a model without training it (the run folder
    opens on the CPU; the model moves there)."""
    choices = "auto, cpu, cuda, cuda:N, mps"
    p.add_argument("--device", default=default, help=f"{choices} (default: {default})")


def _cached_spec(spec: str) -> str:
    """``--cache``: the image-folder spec with ``cache=yes``."""
    from deepscope.data import spec_with_options
    from deepscope.errors import InvalidArgumentError

    if not (spec or "").startswith("images:"):
        raise InvalidArgumentError(f"`--cache` caches image folders ('images:PATH'). Received: --data {spec}")
    return spec_with_options(spec, {"cache": "yes"})


def _add_speed_options(p: argparse.ArgumentParser) -> None:
    """Where and how fast to train: not recipe fields (a run resumes on any device)."""
    p.add_argument("--device", default="auto", help="auto (a GPU if there is one), cpu, cuda, cuda:N, mps")
    p.add_argument(
        "--precision",
        default="auto",
        choices=("auto", "fp32", "bf16", "fp16"),
        help="autocast precision (auto: where measured to pay; fp32 on CPUs)",
    )
    p.add_argument(
        "--compile", default="auto", choices=("auto", "on", "off"), help="torch.compile the model (auto: off)"
    )
    p.add_argument(
        "--channels-last",
        default="auto",
        choices=("auto", "on", "off"),
        help="NHWC memory format for 2-D convnets (auto: on GPUs under autocast)",
    )


_LAUNCH_FLAGS = ("--nproc", "--nnodes", "--rdzv-endpoint")


def _torchrun(args: argparse.Namespace) -> int | None:
    """With --nproc, run this same command under torchrun (``python -m torch.distributed.run``)
    in N processes per machine and return its exit code; None when there is nothing to launch
    (no --nproc, or this process is already one of torchrun's)."""
    import os
    import subprocess

    if not args.nproc or int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return None
    from deepscope.recipe import Recipe

    Recipe().with_overrides(**_recipe_overrides(args))  # a bad value fails here, before N processes start
    argv, skip = [], False
    for item in args.argv:
        if skip:
            skip = False
            continue
        if item in _LAUNCH_FLAGS:
            skip = True
            continue
        if item.startswith(tuple(f"{flag}=" for flag in _LAUNCH_FLAGS)):
            continue
        argv.append(item)
    launch = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={args.nproc}"]
    if args.nnodes:
        if not args.rdzv_endpoint:
            from deepscope.errors import invalid

            raise invalid("--rdzv-endpoint", "HOST:PORT where the machines meet (needed with --nnodes)", None)
        launch += [f"--nnodes={args.nnodes}", "--rdzv-backend=c10d", f"--rdzv-endpoint={args.rdzv_endpoint}"]
    else:
        launch.append("--standalone")
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // args.nproc)))  # no oversubscription
    code = subprocess.run([*launch, "-m", "deepscope", *argv], env=env).returncode
    if code:
        where = args.out or args.resume or f"the newest folder in {args.runs_dir}"
        print(
            f"error: the {args.nproc}-process run stopped (exit code {code}): a process died or raised, and torchrun "
            f"stopped the others (their messages are above). Completed epochs are kept in {where}; continue with "
            f"`deepscope train --resume RUN --nproc {args.nproc}`.",
            file=sys.stderr,
        )
    return code


def _speed_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    switch = {"auto": "auto", "on": True, "off": False}
    return {
        "device": args.device,
        "precision": args.precision,
        "compile": switch[args.compile],
        "channels_last": switch[args.channels_last],
    }


def _run_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of runs.train/finetune/pretrain that the run options give."""
    return {
        "val_fraction": args.val_fraction,
        "download": args.download,
        "out": args.out,
        "runs_dir": args.runs_dir,
        "progress": not args.quiet,
        **_recipe_overrides(args),
        **_speed_kwargs(args),
    }


def build_parser() -> argparse.ArgumentParser:
    from deepscope import __version__

    parser = _Parser(
        prog="deepscope",
        description="Train deep nets on images, series and text, then see what they learned.",
        epilog="Start with `deepscope demo` (offline, about a minute on a laptop CPU); "
        "`deepscope COMMAND --help` describes each command.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    parser.add_argument(
        "--max-memory",
        type=size,
        metavar="SIZE",
        help="the largest array one reader may allocate, e.g. 24GB (default: $DEEPSCOPE_MAX_MEMORY, "
        "else half the RAM, at most 8 GiB)",
    )
    parser.add_argument(
        "--max-text",
        type=size,
        metavar="SIZE",
        help="the largest text/CSV/JSON file read whole, e.g. 2GB (default: $DEEPSCOPE_MAX_TEXT, else 512 MiB)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = _command(
        sub,
        "demo",
        "train the lecture CNN on built-in digits and write a report (offline)",
        "train the lecture CNN (conv -> ReLU -> max-pool -> dense -> softmax) on scikit-learn's 8x8 "
        "digits, score it on the held-out test split, draw what it learned and write the HTML "
        "report. Needs no download.",
    )
    p.add_argument("--runs-dir", type=folder, default="runs", help="where run folders go")
    p.add_argument("--seed", type=integer, default=0, help="random seed (weights, data order)")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=cmd_demo)

    p = _command(
        sub,
        "datasets",
        "list dataset kinds and what each expects",
        "list the built-in, local and downloadable datasets with the spec each takes; "
        "--check SPEC loads one and walks a sample through loading.",
    )
    p.add_argument("--check", metavar="SPEC", help="load SPEC and walk one sample through loading")
    p.add_argument("--download", action="store_true", help="allow downloading standard sets into the cache")
    p.set_defaults(func=cmd_datasets)

    p = _command(
        sub,
        "zoo",
        "list architectures with parameter counts and reference results",
        "list the zoo's architectures with their kind, parameter count and reference result; "
        "--summary MODEL prints one model's layers and output shapes.",
    )
    p.add_argument("--summary", metavar="MODEL", help="print MODEL's layers, output shapes and parameters")
    p.add_argument("--data", metavar="SPEC", help="with --summary: take shapes from this dataset")
    p.set_defaults(func=cmd_zoo)

    p = _command(
        sub,
        "train",
        "train a zoo model on a dataset",
        "train a zoo model on a dataset with the model's recipe (the options below override its "
        "fields; `deepscope zoo --summary MODEL` shows it), keep the best weights by the validation "
        "metric, then score the test split once and write the report.",
    )
    p.add_argument("model", nargs="?", help="zoo model name (see `deepscope zoo`)")
    p.add_argument("--data", default="digits", metavar="SPEC", help="data spec, e.g. digits, mnist:PATH")
    _add_run_options(p)
    p.add_argument("--resume", type=run_folder, metavar="RUN", help="continue an interrupted run folder")
    p.add_argument(
        "--arg",
        action="append",
        metavar="NAME=VALUE",
        help="an argument of the model's builder, e.g. --arg depth=56 --arg version=2 for cifar10_resnet "
        "(repeatable; `deepscope zoo --summary MODEL` lists them); recorded in the run folder",
    )
    p.add_argument(
        "--judge",
        type=run_folder,
        metavar="RUN",
        help="GANs: a classifier run of the same images that scores the samples after every epoch "
        "(Fréchet distance of its features, classifier score); recorded for evaluate and report",
    )
    p.set_defaults(func=cmd_train)

    p = _command(
        sub,
        "pretrain",
        "self-supervised pre-training on a dataset's images, labels unused",
        "pre-train a zoo model on the images of a dataset without their labels. --task rotation "
        "turns every image by 0, 90, 180 or 270 degrees and trains the model to tell which "
        "(the dataset rotations:SPEC); --task simclr makes two random views of every image "
        "(--augment, 'auto' by default) and trains the model so that each view finds its partner "
        "in the batch (SimCLR; the dataset simclr:SPEC). The run folder is a backbone: "
        "`deepscope finetune RUN --data SPEC?per_class=10` fine-tunes it on a few labelled images.",
    )
    p.add_argument("model", help="zoo model name (an image model)")
    p.add_argument("--data", default="digits", metavar="SPEC", help="image data spec (square images)")
    p.add_argument("--task", default="rotation", choices=("rotation", "simclr"), help="the pretext task")
    _add_run_options(p, report=False)
    p.set_defaults(func=cmd_pretrain)

    p = _command(
        sub,
        "tune",
        "choose a zoo model's hyperparameters on the validation split (Optuna)",
        "search a zoo model's hyperparameters with Optuna (TPE sampler; trials whose validation score "
        "trails are pruned) on the validation split. Every trial is a run folder, the study a SQLite "
        "file beside them: run the same command again to resume it. The recipe's own point is trial 0, "
        "so the choice is never worse on validation. The test split stays sealed until the search "
        "ends; then the chosen trial is scored on it once (best.json).",
    )
    p.add_argument("model", help="zoo model name")
    p.add_argument("--data", default="digits", metavar="SPEC", help="data spec")
    p.add_argument("--trials", type=_int_in(1, 10_000), default=30, help="trials the study should hold")
    p.add_argument(
        "--param",
        action="append",
        metavar="NAME=SPEC",
        help="a search dimension: lr=1e-4..1e-2:log, batch_size=32,64,128, epochs=2..6, model.filters=16,32 "
        "(repeatable; default: lr, batch_size, weight_decay and, for images, augment)",
    )
    p.add_argument("--space", metavar="FILE", help="the search space as TOML: [lr] low = 1e-4 high = 1e-2 log = true")
    p.add_argument("--pruner", default="median", choices=("median", "halving", "none"), help="how trials are pruned")
    p.add_argument("--epochs", type=positive_int, metavar="N", help="every trial's epochs (default: the recipe's)")
    p.add_argument("--timeout", type=number, metavar="S", help="stop starting trials after S seconds")
    p.add_argument("--seed", type=_int_in(0, 2**31 - 1), default=0, help="the sampler's seed")
    p.add_argument(
        "--val-fraction", type=fraction, default=0.1, metavar="F", help="share of train held out to score trials"
    )
    p.add_argument("--folder", type=folder, metavar="DIR", help="study folder (default: RUNS_DIR/tune-<model>-<data>)")
    p.add_argument("--runs-dir", type=folder, default="runs", help="where the default study folder goes")
    p.add_argument("--download", action="store_true", help="download standard datasets if missing")
    p.set_defaults(func=cmd_tune)

    p = _command(
        sub,
        "lr-find",
        "the learning-rate range test: a suggested learning rate and its curve",
        "train a copy of a zoo model for a few hundred batches while the learning rate grows from "
        "--start to --end, and suggest the rate where the loss falls fastest (Smith 2015, fastai's "
        "lr_find); the curve goes to a PNG. Uses the model's recipe (optimizer, batch size) unless overridden.",
    )
    p.add_argument("model", help="zoo model name")
    p.add_argument("--data", default="digits", metavar="SPEC", help="data spec")
    p.add_argument("--start", type=number, default=1e-7, help="first learning rate")
    p.add_argument("--end", type=number, default=10.0, help="last learning rate")
    p.add_argument("--steps", type=_int_in(10, 10_000), default=100, help="mini-batches (the rate grows each)")
    p.add_argument("--optimizer", help="sgd, adam, adamw, rmsprop, adadelta")
    p.add_argument("--batch-size", type=positive_int, metavar="N", help="samples per step")
    p.add_argument("--weight-decay", type=number, metavar="WD", help="L2 weight decay (>= 0)")
    p.add_argument("--val-fraction", type=fraction, default=0.1, metavar="F", help="held out (not used by the test)")
    p.add_argument(
        "--out", type=output_file, metavar="FILE", help="curve PNG (default: RUNS_DIR/lr-find-<model>-<data>.png)"
    )
    p.add_argument("--runs-dir", type=folder, default="runs", help="where the default PNG goes")
    p.add_argument("--download", action="store_true", help="download standard datasets if missing")
    _add_device_option(p, default="auto")
    p.set_defaults(func=cmd_lr_find)

    p = _command(
        sub,
        "learning-curve",
        "test accuracy against labelled examples per class, for each small-data method",
        "train each method (scratch: the zoo model as it is; augment: the same with --augment auto; "
        "finetune: --backbone) at each labelled-set size (seeded SPEC?per_class=N subsets, the same "
        "epochs) and plot test accuracy against the number of labelled examples per class: the "
        "figure that tells which tool to reach for. Runs keep their best epoch on validation (--keep "
        "last: their last); each test split is scored once.",
    )
    p.add_argument("model", help="zoo model for scratch and augment")
    p.add_argument("--data", default="digits", metavar="SPEC", help="classification data spec (no per_class)")
    p.add_argument("--sizes", type=_sizes, default="5,10,20,50", help="labelled examples per class, comma-separated")
    p.add_argument("--methods", default="scratch,augment", help="comma-separated: scratch, augment, finetune")
    p.add_argument("--backbone", default="efficientnet_lite0", help="for finetune: a pretrained model or a run folder")
    p.add_argument("--seeds", type=_int_in(1, 20), default=1, help="runs per point (seeds 0..N-1)")
    p.add_argument("--epochs", type=positive_int, metavar="N", help="every run's epochs (default: each recipe's)")
    p.add_argument(
        "--keep",
        choices=("best", "last"),
        help="every run's kept weights: its best epoch on validation (default) or its last (the smallest "
        "sizes leave a few validation images, too few to choose an epoch)",
    )
    p.add_argument(
        "--out",
        type=output_file,
        metavar="FILE",
        help="figure PNG (default: RUNS_DIR/learning-curve-<model>-<data>.png)",
    )
    p.add_argument("--runs-dir", type=folder, default="runs", help="where the runs and the default figure go")
    p.set_defaults(func=cmd_learning_curve)

    p = _command(
        sub,
        "compare",
        "runs side by side: validation/test scores, parameters, training time",
        "a table and a bar chart of run folders side by side: the monitored metric at the best "
        "epoch on validation and (where the run was scored) on test, parameter counts, epochs and "
        "training time.",
    )
    p.add_argument("runs", nargs="+", type=run_folder, metavar="RUN", help="run folders")
    p.add_argument("--out", type=output_file, metavar="FILE", help="figure PNG (default: RUNS_DIR/compare.png)")
    p.add_argument("--runs-dir", type=folder, default="runs", help="where the default PNG goes")
    p.set_defaults(func=cmd_compare)

    p = _command(
        sub,
        "finetune",
        "fine-tune a pretrained network (or a run) on a dataset",
        "fine-tune a pretrained network on a dataset, fastai's fine_tune recipe: a new head for the "
        "data's classes trains on the frozen backbone (its BatchNorm statistics kept) for "
        "--freeze-epochs, then the whole network trains with discriminative learning rates "
        "(--lr-mult). Images are resized and normalised as the backbone expects. BACKBONE is "
        "resnet18, mobilenet_v3_small, efficientnet_b0 (ImageNet weights: --weights FILE, the cache, "
        "or --download), efficientnet_lite0 (offline weights from its package), timm:NAME (any timm "
        "model: --weights FILE, the Hugging Face cache, or --download), or a run folder (its layers "
        "but the head transfer; only the head trains unless --freeze-epochs is given).",
    )
    p.add_argument("backbone", metavar="BACKBONE", help="a pretrained model name or a run folder")
    p.add_argument("--data", default="digits", metavar="SPEC", help="data spec, e.g. images:PATH?per_class=100")
    p.add_argument("--weights", type=_existing_file, metavar="FILE", help="the published weights file, read locally")
    p.add_argument(
        "--size", type=_int_in(32, 1024), metavar="PX", help="side images are resized to (default: the backbone's)"
    )
    _add_run_options(p, download="download the backbone's weights / standard datasets if missing")
    p.set_defaults(func=cmd_finetune)

    p = _command(
        sub,
        "evaluate",
        "a run's scores on a split, recorded in metrics.json",
        "a run's scores: accuracy, per-class scores and confusion matrix (classifiers); "
        "MSE/MAE/RMSE/MASE beside a naive baseline (regression, forecasts); whole-answer and token "
        "accuracy (seq2seq). Recorded in the run's metrics.json.",
    )
    p.add_argument("run", type=run_folder, help="run folder")
    p.add_argument("--split", default="test", choices=("train", "val", "test"), help="which split to score")
    _add_device_option(p)
    p.add_argument("--json", action="store_true", help="print the scores as JSON")
    p.add_argument(
        "--judge",
        type=run_folder,
        metavar="RUN",
        help="GANs: the classifier run that scores the samples (default: the one recorded when training)",
    )
    p.set_defaults(func=cmd_evaluate)

    p = _command(
        sub,
        "export",
        "a run's model as ONNX, TorchScript or safetensors, checked against PyTorch",
        "a run's model as ONNX (checked in ONNX Runtime), TorchScript (traced; checked in torch) or "
        "safetensors (the weights), with a dynamic batch size and the preprocessing it needs (input "
        "shape and scale, class names, the vocabulary of text runs) in the file's metadata.",
    )
    p.add_argument("run", type=run_folder, help="run folder")
    p.add_argument("--format", default="onnx", choices=("onnx", "torchscript", "safetensors"), help="file format")
    p.add_argument("--out", type=output_file, metavar="FILE", help="where to write (default: RUN/export/model.<ext>)")
    p.add_argument("--no-check", action="store_true", help="skip comparing the export with the PyTorch model")
    p.set_defaults(func=cmd_export)

    p = _command(
        sub,
        "predict",
        "top-k classes for image files, raw texts or series files; forecasts",
        "top-k classes for image files, raw texts (text runs; @FILE reads one file) or series files "
        "(series runs: CSV rows, .ts/.tsv/.arff); forecasting runs forecast past the end of each "
        "series of a CSV/Parquet file.",
    )
    p.add_argument("run", type=run_folder, help="run folder")
    p.add_argument("files", nargs="+", metavar="INPUT", help="image/series files, or texts (@FILE for a text file)")
    _add_device_option(p)
    p.add_argument("--top", type=positive_int, default=3, metavar="K", help="classes shown per input")
    p.add_argument("--json", action="store_true", help="print the predictions as JSON")
    p.set_defaults(func=cmd_predict)

    p = _command(
        sub, "report", "write the self-contained HTML report of a run", "write the run's self-contained HTML report"
    )
    p.add_argument("run", type=run_folder, help="run folder")
    p.set_defaults(func=cmd_report)

    p = _command(
        sub,
        "generate",
        "draw images from a generative run into a PNG grid",
        "draw images from a generative run (dcgan, mnist_acgan, variational_autoencoder, pixelcnn) into one PNG "
        "grid and print its path; "
        "the same --seed draws the same images. A class-conditional GAN draws --class, else every "
        "class in turn (one column each).",
    )
    p.add_argument("run", type=run_folder, help="run folder")
    p.add_argument("--n", type=_int_in(1, 400), default=64, help="images to draw")
    p.add_argument(
        "--class", dest="class_", metavar="CLASS", help="class-conditional GANs: the class, by name or index"
    )
    p.add_argument("--seed", type=_int_in(0, 2**32 - 1), default=0, help="seed of the latent codes")
    p.add_argument("--out", type=output_file, metavar="FILE", help="PNG to write (default: RUN/generated/...)")
    _add_device_option(p)
    p.set_defaults(func=cmd_generate)

    # Commands added by later features register below this line (one _command block each).
    p = _command(
        sub,
        "inspect",
        "filters, feature maps, top patches (CNNs), first-layer templates (dense models) and embedding map of a run",
        "draw what a trained run learned. CNNs: its filters, the feature maps of one image, the "
        "test-image patches that excite each channel most, inputs built by activation "
        "maximisation. Dense models: the first layer's weights drawn as images. Both: a t-SNE map "
        "of the test set's hidden features. Adds them to the run's report.",
    )
    p.add_argument("run", type=run_folder, help="run folder")
    p.add_argument("--input", metavar="FILE", help="image whose feature maps to draw (default: the first test image)")
    p.add_argument(
        "--layers", nargs="+", metavar="NAME", help="layers to inspect, by module name (default: all conv/pool)"
    )
    p.add_argument("--k", type=_int_in(1, 100), default=9, help="top patches per channel")
    p.add_argument(
        "--embedding",
        type=_int_in(0, 20_000),
        default=1000,
        metavar="N",
        help="test samples in the t-SNE map (0: none)",
    )
    p.add_argument("--no-maximize", action="store_true", help="skip activation maximisation")
    _add_device_option(p)
    p.set_defaults(func=cmd_inspect)

    p = _command(
        sub,
        "conv",
        "convolution, ReLU and pooling step by step, as pictures (PNG + GIF)",
        "convolution, ReLU and max-pooling of one image, as pictures: the pipeline, every named "
        "kernel at once as a feature-map stack, pooling's shift invariance (with and without "
        "pooling) and, with --steps, the window sliding one output at a time (GIF).",
    )
    p.add_argument("image", help="image file (read as grey, scaled to [0, 1]) or example:cross|ell|digit")
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--kernel", metavar="NAME", help="identity, blur, edge-h, edge-v, sharpen, sobel-x, sobel-y (default: edge-h)"
    )
    which.add_argument("--kernel-file", metavar="F", help="kernel as text/CSV rows of numbers, or .npy")
    p.add_argument(
        "--padding",
        type=conv_padding,
        default="valid",
        help="zeros around the image: 'valid' (none), 'same' (output as large as the input) or an int "
        "up to the kernel size - 1",
    )
    p.add_argument("--stride", type=_int_in(1, MAX_CONV), default=1, help="step of the window")
    p.add_argument("--pool", type=_int_in(1, MAX_CONV), default=2, help="max-pool window and stride (1: no pooling)")
    p.add_argument(
        "--steps", action="store_true", help="also write steps.gif: the window sliding, one frame per output"
    )
    p.add_argument("--out", type=folder, metavar="DIR", help="output folder (default: RUNS_DIR/conv-<image>-<kernel>)")
    p.add_argument("--runs-dir", type=folder, default="runs", help="where the default output folder goes")
    p.set_defaults(func=cmd_conv)

    p = _command(
        sub,
        "lesson",
        "lessons you can watch: gradient descent, mini-batches, autodiff, a net as a fitted program",
        "run a lesson on how training works: its figures (PNG, and a GIF where motion teaches), "
        "numbers.json and a self-contained lesson.html, written into --out (default: "
        "lessons/<name>). Without NAME, list the lessons.",
    )
    p.add_argument("name", nargs="?", metavar="NAME", help="the lesson (omit to list them)")
    p.add_argument("--out", type=folder, metavar="DIR", help="output folder (default: lessons/<name>)")
    p.add_argument("--seed", type=_int_in(0, 2**32 - 1), default=0, help="random seed (default 0)")
    p.add_argument("--data", metavar="SPEC", help="image data for the lessons that train (default: digits)")
    p.add_argument(
        "--run",
        type=run_folder,
        metavar="RUN",
        help="autodiff: check your own trained classifier (a run folder) instead of the lesson's net",
    )
    p.set_defaults(func=cmd_lesson)

    p = _command(
        sub,
        "augment",
        "look at an augmentation policy: originals beside augmented versions",
        "draw a few training samples of a dataset beside their versions through an augmentation "
        "policy (a PNG grid for images and series, a text file for text), so a policy can be looked "
        "at before it is used. Policies are ops joined by '+', each with an optional strength, e.g. "
        f"flip+shift=0.1+erase; 'auto' picks what suits the data. Ops: {AUGMENT_OPS}.",
    )
    p.add_argument("data", metavar="DATA", help="data spec, e.g. digits, mnist:PATH, ucr:GunPoint")
    p.add_argument("--policy", default="auto", help="augmentation policy (default: auto)")
    p.add_argument("--n", type=_int_in(1, 64), default=8, help="samples shown (one per class first)")
    p.add_argument("--versions", type=_int_in(1, 16), default=4, help="augmented versions of each sample")
    p.add_argument("--seed", type=_int_in(0, 2**31 - 1), default=0, help="which samples and which draws")
    p.add_argument("--download", action="store_true", help="allow downloading standard sets into the cache")
    p.add_argument(
        "--out",
        type=output_file,
        metavar="FILE",
        help="output file (default: RUNS_DIR/augment-<data>-<policy>.png or .txt)",
    )
    p.add_argument("--runs-dir", type=folder, default="runs", help="where the default output file goes")
    p.set_defaults(func=cmd_augment)

    p = _command(
        sub,
        "words",
        "a text run's embedding: nearest neighbours of words, map of frequent words",
        "what a text run's embedding learned: the nearest neighbours (cosine) of words you name, "
        "and a 2-D map of the most frequent words (figures/word_map.png in the run folder).",
    )
    p.add_argument("run", type=run_folder, help="run folder")
    p.add_argument("--near", nargs="+", metavar="WORD", help="words whose nearest neighbours (cosine) to print")
    p.add_argument("--k", type=_int_in(1, 1000), default=8, help="neighbours per word")
    p.add_argument(
        "--map", type=_int_in(0, 10_000), default=300, metavar="N", help="most frequent words on the map (0: no map)"
    )
    p.add_argument("--method", default="tsne", choices=("tsne", "pca"), help="projection to 2-D")
    p.set_defaults(func=cmd_words)

    p = _command(
        sub,
        "explain",
        "why a run predicts what it does: Grad-CAM, saliency, integrated gradients, occlusion, LIME, SHAP",
        "attribute a run's predictions for images, texts or series (or its first N test samples) to "
        "their pixels, tokens or time steps, with one method or all of them side by side; --compare "
        "also scores each method's faithfulness (deletion/insertion curves). Figures go to RUN/explain/.",
    )
    p.add_argument("run", type=run_folder, help="run folder")
    p.add_argument("files", nargs="*", metavar="INPUT", help="image/series files, or texts (@FILE for a text file)")
    p.add_argument(
        "--test", type=_int_in(0, 1000), default=0, metavar="N", help="also explain the first N test samples"
    )
    p.add_argument(
        "--method",
        choices=("gradcam", "saliency", "integrated_gradients", "smoothgrad", "occlusion", "lime", "shap", "all"),
        help="attribution method (default: gradcam for CNNs, else integrated_gradients, else occlusion)",
    )
    p.add_argument("--compare", action="store_true", help="every applicable method, with faithfulness scores")
    p.add_argument("--target", metavar="CLASS", help="class to explain, by name or index (default: the predicted one)")
    p.add_argument(
        "--samples", type=_int_in(1, 100_000), metavar="N", help="LIME/SHAP perturbations, IG steps, smoothgrad draws"
    )
    p.add_argument("--seed", type=_int_in(0, 2**32 - 1), default=0, help="seed of the random methods")
    p.add_argument("--out", type=folder, metavar="DIR", help="output folder (default: RUN/explain)")
    _add_device_option(p)
    p.set_defaults(func=cmd_explain)

    p = _command(
        sub,
        "interpret",
        "a classifier's most-confused classes, calibration (ECE) and top losses, each explained",
        "interpret a classifier run on one split: the class pairs it confuses most, its calibration "
        "(reliability diagram, expected calibration error) and the samples it is most confidently "
        "wrong about, each with an explanation; figures go to RUN/figures/interpret_*.png (the "
        "report shows the test split's).",
    )
    p.add_argument("run", type=run_folder, help="run folder")
    p.add_argument("--split", choices=("test", "val"), default="test", help="split to interpret")
    p.add_argument("--k", type=_int_in(1, 100), default=12, help="top losses shown")
    p.set_defaults(func=cmd_interpret)

    p = _command(
        sub,
        "audit",
        "does an image classifier rely on a spurious cue or region (the 'wolf = snow' failure)?",
        "audit an image run for a shortcut: add the cue to the test images of the other classes and "
        "count the predictions it flips, compare the cue class's recall with and without it, and "
        "measure the share of the attribution inside the region; prints a verdict with the numbers "
        "(RUN/audit.json) and draws the most telling examples (RUN/figures/audit_examples.png).",
    )
    p.add_argument("run", type=run_folder, help="run folder")
    p.add_argument(
        "--region", metavar="REGION", help="border, corner, background, tint, or a mask image (white = region)"
    )
    p.add_argument(
        "--cue", choices=("border", "corner", "background", "tint"), help="suspected cue (default: the run's)"
    )
    p.add_argument("--cue-class", metavar="CLASS", help="class the cue may stand for, by name or index")
    p.add_argument("--n", type=_int_in(1, 100_000), default=1000, help="test images audited (a seeded sample)")
    p.add_argument("--seed", type=_int_in(0, 2**32 - 1), default=0, help="seed of the sample")
    p.add_argument(
        "--method",
        choices=("gradcam", "saliency", "integrated_gradients", "smoothgrad", "occlusion"),
        help="attribution method (default: gradcam for CNNs, else integrated_gradients)",
    )
    p.set_defaults(func=cmd_audit)

    p = _command(
        sub,
        "serve",
        "a local explorer in the browser: predictions, feature maps and explanations of runs",
        "serve a local web app (127.0.0.1 by default) to explore trained runs: pick a test example, draw "
        "a digit, upload an image or a series CSV or paste a text, and see the prediction, the class "
        "probabilities, the feature maps and explanations side by side, for several runs at once. "
        "Run folders are only read.",
    )
    p.add_argument("runs", nargs="+", type=run_folder, metavar="RUN", help="run folders")
    p.add_argument("--port", type=_int_in(1, 65535), default=8000, help="TCP port")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (anything else exposes the models)")
    p.set_defaults(func=cmd_serve)

    return parser


def _one_line(error: BaseException) -> str:
    """An error's message on one line (tracebacks and multi-line messages folded)."""
    text = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    return text or type(error).__name__


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        args.argv = list(sys.argv[1:] if argv is None else argv)  # what --nproc relaunches under torchrun
    except _UsageError as error:
        print(f"error: {_one_line(error)}", file=sys.stderr)
        return 2
    except SystemExit as exit_:  # --help, --version
        return exit_.code if isinstance(exit_.code, int) else 0
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        from deepscope import limits

        caps = {"memory": args.max_memory, "text": args.max_text}
        if getattr(args, "cache", False):
            args.data = _cached_spec(args.data)
        with warnings.catch_warnings(), limits.override(**{k: v for k, v in caps.items() if v is not None}):
            warnings.showwarning = _show_warning
            return args.func(args)
    except BrokenPipeError:  # `deepscope evaluate RUN | head`: the reader left, nothing is wrong
        sys.stderr.close()
        return 0
    except KeyboardInterrupt as error:
        from deepscope.errors import TrainingInterrupted

        if isinstance(error, TrainingInterrupted):
            print(str(error), file=sys.stderr)
        else:
            print("Interrupted.", file=sys.stderr)
        return 130
    except Exception as error:
        if args.debug:
            raise
        print(f"error: {_describe(error)}", file=sys.stderr)
        return 2


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one line each on stderr (``warning: ...``), like errors."""
    print(f"warning: {_one_line(message)}", file=sys.stderr)


def _describe(error: Exception) -> str:
    """One line for any failure: deepscope's own errors as they are, the system's with the
    file they name, anything else as what it is (with the way to see the traceback)."""
    from deepscope.errors import DeepscopeError

    if isinstance(error, DeepscopeError):
        return _one_line(error)
    if isinstance(error, OSError) and error.strerror:
        where = f": {error.filename}" if error.filename else ""
        return f"{error.strerror}{where}"
    if isinstance(error, MemoryError):
        return "out of memory. Use smaller inputs or batches, or lower --max-memory so readers refuse sooner."
    return f"unexpected {type(error).__name__}: {_one_line(error)} (rerun with --debug for the traceback)"


if __name__ == "__main__":
    sys.exit(main())
