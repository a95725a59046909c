"""The ``deepscope`` command. Thin: parses arguments, calls the public API, prints.

Heavy imports (torch, the API) happen inside the command functions so that
``deepscope --help`` answers at once.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

__all__ = ["main"]


def _print(*parts: object) -> None:
    print(*parts, flush=True)


# ----------------------------------------------------------------------------- commands
def cmd_demo(args: argparse.Namespace) -> int:
    """Train the lecture CNN on the built-in digits, evaluate on the test split, report."""
    from deepscope import data as data_module
    from deepscope import runs, zoo
    from deepscope.report import inside_the_network, write_report

    started = time.perf_counter()
    data = data_module.load("digits", seed=args.seed)
    _print(f"Data: {data}")
    model = zoo.create("lecture_cnn", data=data, seed=args.seed)
    _print(
        f"Model: lecture_cnn (conv -> ReLU -> max-pool -> dense -> softmax), "
        f"{sum(p.numel() for p in model.parameters()):,} parameters"
    )
    run = runs.fit(model, data, runs_dir=args.runs_dir, seed=args.seed, progress=not args.quiet)
    result = run.evaluate("test")
    _print(f"Test accuracy: {result.accuracy:.4f} on {len(result.y_true)} held-out images")
    _print("Inside the network (feature maps of one test digit, filters, top patches):")
    inside_the_network(run, maximize=False, embedding=0, echo=_print)
    report = write_report(run)
    _print(f"Run folder: {run.path}")
    _print(f"Report:     {report}")
    _print(f"Done in {time.perf_counter() - started:.1f} s")
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    from deepscope.data import DATASETS, load

    if args.check:
        data = load(args.check, download=args.download)
        _print(json.dumps(data.describe(), indent=2))
        x, y = data.train[0]
        _print(
            f"First training sample: x {tuple(x.shape)} {x.dtype} in [{float(x.min()):.3g}, {float(x.max()):.3g}], "
            f"label {int(y)}" + (f" ({data.classes[int(y)]})" if data.classes else "")
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
            model = zoo.create(name, in_shape=in_shape)
        _print(summary(model, in_shape))
        return 0
    _print(f"{'model':<20} {'kind':<7} {'params':>11}  reference")
    for entry in zoo.MODELS:
        meta = entry.meta["info"]
        model = zoo.create(entry.name, in_shape=meta.example_shape, num_classes=meta.example_classes)
        params = sum(p.numel() for p in model.parameters())
        _print(f"{entry.name:<20} {meta.kind:<7} {params:>11,}  {meta.reference}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from deepscope import data as data_module
    from deepscope import runs, zoo
    from deepscope.errors import invalid

    overrides = {
        k: getattr(args, k)
        for k in ("epochs", "batch_size", "optimizer", "lr", "weight_decay", "schedule", "patience", "seed", "augment")
    }
    if args.resume:
        run = runs.resume(args.resume, progress=not args.quiet)
    else:
        if not args.model:
            raise invalid("model", "a zoo model name (see `deepscope zoo`)", args.model)
        recipe = zoo.info(args.model).recipe.with_overrides(**overrides)
        # the entry's preferred loader settings (text: maxlen, vocabulary) unless the spec sets them
        entry, spec = zoo.info(args.model), args.data
        if entry.data_options and data_module.DATASETS.get(spec.partition(":")[0]).meta["kind"] == entry.kind:
            spec = data_module.spec_with_options(spec, entry.data_options)
        data = data_module.load(spec, val_fraction=args.val_fraction, seed=recipe.seed, download=args.download)
        model = zoo.create(args.model, data=data, seed=recipe.seed)
        run = runs.fit(model, data, recipe, out=args.out, runs_dir=args.runs_dir, progress=not args.quiet)
    if run.history:
        saved = json.loads((run.path / "last" / "state.json").read_text())  # best epoch by the recipe's monitor
        monitor = run.config["recipe"]["monitor"]
        monitor = monitor if monitor in run.history[0] else monitor.removeprefix("val_")
        seconds = sum(r["time"] for r in run.history) / len(run.history)
        _print(f"Best epoch {saved['best_epoch']}: {monitor} {saved['best']:.4f}; {seconds:.3g} s/epoch")
    _print(f"Run folder: {run.path}")
    if not args.no_report:
        from deepscope.report import write_report

        _print(f"Report:     {write_report(run)}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from deepscope import runs

    run = runs.open_run(args.run)
    result = run.evaluate(args.split)
    if args.json:
        _print(json.dumps(result.to_dict(), indent=2))
        return 0
    _print(f"{run.name} on the {args.split} split ({len(result.y_true)} samples)\n")
    _print(result.text())
    _print(f"\nWritten to {run.path / 'metrics.json'}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    import torch

    from deepscope import runs
    from deepscope.data import read_image
    from deepscope.train import predict_proba

    run = runs.open_run(args.run, load_data=False)
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
    in_shape = tuple(run.config["data"]["input_shape"])
    if kind == "text":  # raw strings (or @file.txt), tokenized like the training data
        from deepscope.data import Vocabulary

        texts = [Path(f[1:]).read_text(encoding="utf-8") if f.startswith("@") else f for f in args.files]
        x = Vocabulary.load(run.path / "vocab.json").encode(texts)  # (N, maxlen)
    elif kind == "series":  # CSV rows or UCR files, prepared like the training series
        from deepscope.data import read_series

        prep = run.config["data"].get("info", {}).get("preprocess", {})
        batches = [read_series(Path(f), in_shape, prep) for f in args.files]  # each (n, C, T)
        names = [f if len(b) == 1 else f"{f}:{i + 1}" for f, b in zip(args.files, batches) for i in range(len(b))]
        x = torch.cat(batches)
    else:
        x = torch.stack([read_image(Path(f), in_shape) for f in args.files])
    probs = predict_proba(run.model, x)
    k = min(args.top, len(classes))
    results = []
    for f, p in zip(names if kind == "series" else args.files, probs):
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
        names, x = forecast_inputs(Path(f), history)  # (N, 1, history)
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


def cmd_report(args: argparse.Namespace) -> int:
    from deepscope import runs
    from deepscope.report import write_report

    run = runs.open_run(args.run)
    _print(f"Report: {write_report(run)}")
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from deepscope import runs
    from deepscope.data import read_image
    from deepscope.report import inside_the_network, write_report

    run = runs.open_run(args.run)
    x = read_image(Path(args.input), tuple(run.config["data"]["input_shape"])) if args.input else None
    _print(f"Inspecting {run.name}; figures:")
    inside_the_network(
        run, x, args.layers, k=args.k, maximize=not args.no_maximize, embedding=args.embedding, echo=_print
    )
    _print(f"Report: {write_report(run)}")
    return 0


CONV_EXAMPLES = ("cross", "ell", "digit")


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

    return to_array(open_image(spec), "L") / 255.0, Path(spec).stem  # (H, W)


def cmd_conv(args: argparse.Namespace) -> int:
    """Convolution mechanics as pictures: conv -> ReLU -> pool, a kernel stack, pooling's
    shift invariance and (with --steps) the window sliding, as PNGs and a GIF."""
    from deepscope import mechanics, plots
    from deepscope.errors import invalid

    image, name = _conv_image(args.image)
    if args.kernel_file:
        kernel, kernel_name = mechanics.load_kernel(args.kernel_file), Path(args.kernel_file).name
    else:
        kernel_name = args.kernel or "edge-h"
        kernel = mechanics.get_kernel(kernel_name)
    padding: int | str = args.padding
    if padding not in ("valid", "same"):
        if not padding.isdigit():
            raise invalid("--padding", "an int >= 0, 'valid' or 'same'", padding)
        padding = int(padding)
    out = Path(args.out or f"conv-{name}")
    paths = plots.write_conv_figures(
        image,
        kernel,
        kernel_name,
        out,
        padding=padding,
        stride=args.stride,
        pool=args.pool,
        steps=args.steps,
        stack_kernel=bool(args.kernel_file),
        echo=_print,
    )
    for path in paths:
        _print(path)
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
    for found in inspect.nearest_words(run.model, vocab.tokens, args.near or [], k=args.k):
        _print(f"{found.word:>14}: " + ", ".join(f"{w} {s:.2f}" for w, s in zip(found.words, found.similarities)))
    if args.map:
        mapped = inspect.word_map(
            run.model,
            vocab.tokens,
            n=args.map,
            method=args.method,
            maxlen=vocab.maxlen,
            classes=run.config["data"]["classes"],
        )
        _print(plots.save_figure(plots.word_map_figure(mapped), run.path / "figures" / "word_map.png"))
    return 0


# ----------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepscope",
        description="Train deep nets on images, series and text, then see what they learned.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("demo", help="train the lecture CNN on built-in digits and write a report (offline)")
    p.add_argument("--runs-dir", default="runs", help="where run folders go (default: ./runs)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("datasets", help="list dataset kinds and what each expects")
    p.add_argument("--check", metavar="SPEC", help="load SPEC and walk one sample through loading")
    p.add_argument("--download", action="store_true", help="allow downloading standard sets into the cache")
    p.set_defaults(func=cmd_datasets)

    p = sub.add_parser("zoo", help="list architectures with parameter counts and reference results")
    p.add_argument("--summary", metavar="MODEL", help="print MODEL's layers, output shapes and parameters")
    p.add_argument("--data", metavar="SPEC", help="with --summary: take shapes from this dataset")
    p.set_defaults(func=cmd_zoo)

    p = sub.add_parser("train", help="train a zoo model on a dataset")
    p.add_argument("model", nargs="?", help="zoo model name (see `deepscope zoo`)")
    p.add_argument("--data", default="digits", help="data spec, e.g. digits, mnist:PATH (default: digits)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--optimizer", help="sgd, adam, adamw, rmsprop, adadelta")
    p.add_argument("--lr", type=float)
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--schedule", help="constant, onecycle, cosine, step")
    p.add_argument("--patience", type=int, help="early stopping: epochs without val improvement")
    p.add_argument("--augment", help="none, auto, shift, shift-flip")
    p.add_argument("--seed", type=int)
    p.add_argument("--val-fraction", type=float, default=0.1)
    p.add_argument("--out", help="run folder (default: runs/<model>-<data>-<n>)")
    p.add_argument("--runs-dir", default="runs")
    p.add_argument("--resume", metavar="RUN", help="continue an interrupted run folder")
    p.add_argument("--download", action="store_true", help="download standard datasets if missing")
    p.add_argument(
        "--no-report",
        action="store_true",
        help="skip report.html (it evaluates the test split once, for the record, after training)",
    )
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "evaluate",
        help="a run's scores: accuracy, per-class scores and confusion matrix "
        "(classifiers); MSE/MAE/RMSE/MASE beside a naive baseline (regression, forecasts); "
        "whole-answer and token accuracy (seq2seq)",
    )
    p.add_argument("run")
    p.add_argument("--split", default="test", choices=("train", "val", "test"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "predict",
        help="top-k classes for image files, raw texts (text runs; @FILE reads one) "
        "or series files (series runs: CSV rows, .ts/.tsv/.arff); forecasting "
        "runs forecast past the end of each series of a CSV/Parquet file",
    )
    p.add_argument("run")
    p.add_argument("files", nargs="+")
    p.add_argument("--top", type=int, default=3)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("report", help="write the self-contained HTML report of a run")
    p.add_argument("run")
    p.set_defaults(func=cmd_report)

    # Commands added by later features register below this line (one add_parser block each).
    p = sub.add_parser("inspect", help="filters, feature maps, top patches and embedding map of a trained CNN run")
    p.add_argument("run")
    p.add_argument("--input", metavar="FILE", help="image whose feature maps to draw (default: the first test image)")
    p.add_argument(
        "--layers", nargs="+", metavar="NAME", help="layers to inspect, by module name (default: all conv/pool)"
    )
    p.add_argument("--k", type=int, default=9, help="patches per channel (default: 9)")
    p.add_argument("--embedding", type=int, default=1000, metavar="N", help="test samples in the t-SNE map (0: none)")
    p.add_argument("--no-maximize", action="store_true", help="skip activation maximisation")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("conv", help="convolution, ReLU and pooling step by step, as pictures (PNG + GIF)")
    p.add_argument("image", help="image file (read as grey, scaled to [0, 1]) or example:cross|ell|digit")
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--kernel", metavar="NAME", help="identity, blur, edge-h, edge-v, sharpen, sobel-x, sobel-y (default: edge-h)"
    )
    which.add_argument("--kernel-file", metavar="F", help="kernel as text/CSV rows of numbers, or .npy")
    p.add_argument("--padding", default="valid", help="an int, 'valid' or 'same' (default: valid)")
    p.add_argument("--stride", type=int, default=1)
    p.add_argument("--pool", type=int, default=2, help="max-pool window and stride (default: 2; 1: none)")
    p.add_argument(
        "--steps", action="store_true", help="also write steps.gif: the window sliding, one frame per output"
    )
    p.add_argument("--out", metavar="DIR", help="output folder (default: ./conv-<image name>)")
    p.set_defaults(func=cmd_conv)

    p = sub.add_parser("words", help="a text run's embedding: nearest neighbours of words, map of frequent words")
    p.add_argument("run")
    p.add_argument("--near", nargs="+", metavar="WORD", help="words whose nearest neighbours (cosine) to print")
    p.add_argument("--k", type=int, default=8, help="neighbours per word (default: 8)")
    p.add_argument("--map", type=int, default=300, metavar="N", help="most frequent words on the map (0: no map)")
    p.add_argument("--method", default="tsne", choices=("tsne", "pca"))
    p.set_defaults(func=cmd_words)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except BrokenPipeError:  # `deepscope evaluate RUN | head`: the reader left, nothing is wrong
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("Interrupted. Completed epochs are saved; continue with `deepscope train --resume RUN`.", file=sys.stderr)
        return 130
    except Exception as error:
        from deepscope.errors import DeepscopeError

        if args.debug:
            raise
        if isinstance(error, DeepscopeError):
            print(f"error: {error}", file=sys.stderr)
            return 2
        if isinstance(error, (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)):
            print(f"error: {error}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
