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

__all__ = ["main"]


def _print(*parts: object) -> None:
    print(*parts, flush=True)


# ----------------------------------------------------------------------------- commands
def cmd_demo(args: argparse.Namespace) -> int:
    """Train the lecture CNN on the built-in digits, evaluate on the test split, report."""
    from deepscope import data as data_module
    from deepscope import runs, zoo
    from deepscope.report import write_report

    started = time.perf_counter()
    data = data_module.load("digits", seed=args.seed)
    _print(f"Data: {data}")
    model = zoo.create("lecture_cnn", data=data, seed=args.seed)
    _print(f"Model: lecture_cnn (conv -> ReLU -> max-pool -> dense -> softmax), "
           f"{sum(p.numel() for p in model.parameters()):,} parameters")
    run = runs.fit(model, data, runs_dir=args.runs_dir, seed=args.seed, progress=not args.quiet)
    result = run.evaluate("test")
    _print(f"Test accuracy: {result.accuracy:.4f} on {len(result.y_true)} held-out images")
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
        _print(f"First training sample: x {tuple(x.shape)} {x.dtype} in [{float(x.min()):.3g}, {float(x.max()):.3g}], "
               f"label {int(y)}" + (f" ({data.classes[int(y)]})" if data.classes else ""))
        return 0
    _print(f"{'name':<14} {'kind':<8} {'spec':<26} what")
    for entry in DATASETS:
        spec = f"{entry.name}:PATH" if entry.meta["needs_path"] else entry.name
        _print(f"{entry.name:<14} {entry.meta['kind']:<8} {spec:<26} {entry.meta['summary']}")
        if entry.meta["needs_path"]:
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

    overrides = {k: getattr(args, k) for k in ("epochs", "batch_size", "optimizer", "lr", "weight_decay",
                                                "schedule", "patience", "seed", "augment")}
    if args.resume:
        run = runs.resume(args.resume, progress=not args.quiet)
    else:
        if not args.model:
            raise invalid("model", "a zoo model name (see `deepscope zoo`)", args.model)
        recipe = zoo.info(args.model).recipe.with_overrides(**overrides)
        data = data_module.load(args.data, val_fraction=args.val_fraction, seed=recipe.seed, download=args.download)
        model = zoo.create(args.model, data=data, seed=recipe.seed)
        run = runs.fit(model, data, recipe, out=args.out, runs_dir=args.runs_dir, progress=not args.quiet)
    best = max(run.history, key=lambda r: r.get("val_accuracy", 0.0)) if run.history else {}
    if best:
        _print(f"Best epoch {best['epoch']}: val_accuracy {best.get('val_accuracy', float('nan')):.4f}; "
               f"{best['time']:.1f} s/epoch")
    _print(f"Run folder: {run.path}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from deepscope import runs

    run = runs.open_run(args.run)
    result = run.evaluate(args.split)
    if args.json:
        _print(json.dumps(result.to_dict(), indent=2))
        return 0
    _print(f"{run.name} on the {args.split} split ({len(result.y_true)} samples)")
    _print(f"accuracy {result.accuracy:.4f}   loss {result.loss:.4f}   macro F1 {result.macro_f1:.4f}\n")
    _print(result.table())
    _print("\nconfusion matrix (rows: true class, columns: predicted)")
    width = max(4, *(len(str(v)) for row in result.confusion for v in row)) + 1
    _print(" " * 10 + "".join(f"{c[:width - 1]:>{width}}" for c in result.classes))
    for name, row in zip(result.classes, result.confusion):
        _print(f"{name[:9]:<10}" + "".join(f"{v:>{width}}" for v in row))
    _print(f"\nWritten to {run.path / 'metrics.json'}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from deepscope import runs
    from deepscope.data.images import read_image
    from deepscope.train import predict_proba

    import torch

    run = runs.open_run(args.run, load_data=False)
    classes = run.config["data"]["classes"]
    in_shape = tuple(run.config["data"]["input_shape"])
    x = torch.stack([read_image(Path(f), in_shape) for f in args.files])
    probs = predict_proba(run.model, x)
    k = min(args.top, len(classes))
    results = []
    for f, p in zip(args.files, probs):
        values, indices = p.topk(k)
        results.append({"file": f, "top": [{"class": classes[i], "probability": float(v)}
                                           for v, i in zip(values.tolist(), indices.tolist())]})
    if args.json:
        _print(json.dumps(results, indent=2))
    else:
        for r in results:
            _print(f"{r['file']}: " + ", ".join(f"{t['class']} {t['probability']:.3f}" for t in r["top"]))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from deepscope import runs
    from deepscope.report import write_report

    run = runs.open_run(args.run)
    _print(f"Report: {write_report(run)}")
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
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="accuracy, per-class scores and confusion matrix of a run")
    p.add_argument("run")
    p.add_argument("--split", default="test", choices=("train", "val", "test"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="top-k classes for image files")
    p.add_argument("run")
    p.add_argument("files", nargs="+")
    p.add_argument("--top", type=int, default=3)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("report", help="write the self-contained HTML report of a run")
    p.add_argument("run")
    p.set_defaults(func=cmd_report)

    # Commands added by later features register below this line (one add_parser block each).
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return args.func(args)
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
