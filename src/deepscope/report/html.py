"""``write_report``: one self-contained HTML file per run.

The report holds a summary of the run (model, data, recipe, best epoch, speed, library
versions), the test scores of its task, the learning curves, and the test predictions drawn
the way the data is read: for classifiers a per-class table, the confusion matrix, a grid
of test images (mistakes first) and an interpretation (most-confused pairs, calibration, the
top losses with an explanation of each); for forecasts the series' history, the truth and the
model's forecast beside the seasonal-naive one; for videos the predicted next frames beside
the true ones; for seq2seq the wrong answers. Then every extra section listed in
``figures/sections.json`` (see :mod:`deepscope.report.sections`).
Figures are saved as PNG files in ``figures/`` and embedded in the HTML as base64 data URIs;
the CSS is inline, so the file opens anywhere without network access. Every string that
comes from the user (class names, data spec, paths, section texts) is HTML-escaped by
Jinja2's autoescape.
"""

from __future__ import annotations

import base64
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deepscope.data import Dataset
from deepscope.errors import RunError, invalid
from deepscope.report.sections import read_sections, relative_to_run
from deepscope.train import (
    AnyEvaluation,
    Evaluation,
    Run,
    Seq2SeqEvaluation,
    TaskEvaluation,
    evaluate_data,
    primary_score,
)
from deepscope.train.files import read_json, write_text

__all__ = ["render_report", "write_report"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
GRID_SIZE = 32  # test images in the prediction grid


@dataclass
class Figure:
    """A figure as the template sees it: a data URI (or why it is missing) and a caption."""

    caption: str
    uri: str | None = None
    missing: str = ""


@dataclass
class Section:
    title: str
    text: str = ""
    figures: list[Figure] = field(default_factory=list)
    html: str = ""  # markup built by deepscope with every user string escaped (highlighted text)


def write_report(run: Run, path: str | Path | None = None) -> Path:
    """Write the run's HTML report to ``path`` (default ``run.path/'report.html'``) and its
    figures to ``run.path/'figures'``; return the report's path.

    The test split is evaluated (``run.evaluate('test')``, which updates metrics.json) when
    metrics.json has no test entry or is older than the weights. Without data attached, the
    report shows what the folder holds (history, saved metrics)."""
    if not isinstance(run, Run):
        raise invalid("run", "a deepscope Run (deepscope.open_run(PATH))", type(run).__name__)
    out = Path(path) if path is not None else Path(run.path) / "report.html"
    if out.suffix.lower() not in (".html", ".htm"):
        raise invalid("path", "a file name ending in .html", str(out))
    write_text(out, render_report(run))
    return out


def render_report(run: Run) -> str:
    """The report of ``run`` as an HTML string (draws and saves the figures on the way)."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    from deepscope.plots import confusion_matrix_figure, learning_curves, save_figure

    run_path = Path(run.path)
    figures_dir = run_path / "figures"
    config = run.config
    history = list(run.history)
    best = {**history[run.best_epoch - 1], "monitor": run.monitor} if run.best_epoch else None
    # Other commands' sections first: a damaged sections.json fails before anything is drawn.
    extras = [
        Section(extra.title, extra.text, [_embed_file(run_path, f.file, f.caption) for f in extra.figures])
        for extra in read_sections(run_path)
    ]
    test, evaluation = _test_results(run)

    sections: list[Section] = []
    if history:
        png = save_figure(
            learning_curves(history, best_epoch=best["epoch"] if best else None), figures_dir / "learning_curves.png"
        )
        sections.append(
            Section(
                "Learning curves",
                _curves_text(history, best),
                [_embed(png, "Loss and metric per epoch, on the training and validation splits.")],
            )
        )
    if test is not None and test.get("task", "classification") == "classification":
        png = save_figure(
            confusion_matrix_figure(test["confusion"], test["classes"]), figures_dir / "confusion_matrix.png"
        )
        sections.append(
            Section(
                "Confusion matrix",
                "Rows are true classes, columns predicted ones; each cell "
                "counts test samples, its colour shows the share of the true class.",
                [_embed(png, "Confusion matrix on the test split.")],
            )
        )
    if evaluation is not None:
        sections.extend(_prediction_sections(evaluation, run.data, figures_dir))
    sections.extend(_training_samples(run_path, figures_dir))
    if isinstance(evaluation, Evaluation) and run.model is not None:
        sections.append(_interpretation_section(run, evaluation, figures_dir))
    sections.extend(extras)

    env = Environment(
        loader=PackageLoader("deepscope.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html").render(
        name=run.name,
        path=str(run_path),
        summary=_summary(config, history, best),
        test=test,
        cards=_score_cards(test),
        per_class=_per_class_rows(test),
        sections=sections,
        written=time.strftime("%Y-%m-%d %H:%M:%S"),
        version=config.get("deepscope_version", "?"),
    )


# ----------------------------------------------------------------------------- results
def _test_results(run: Run) -> tuple[dict[str, Any] | None, AnyEvaluation | None]:
    """Test metrics (metrics.json's dict, evaluated now if absent or stale) and, with data
    attached, the evaluation itself (predictions for the figures)."""
    run_path = Path(run.path)
    metrics_path = run_path / "metrics.json"
    weights = run_path / "model.safetensors"
    saved = read_json(metrics_path) if metrics_path.exists() else {}
    test = saved.get("test") if isinstance(saved, dict) else None
    stale = test is not None and weights.exists() and weights.stat().st_mtime > metrics_path.stat().st_mtime
    data = run.data
    evaluation = None
    if data is not None and len(data.test):
        # run.evaluate records the scores in metrics.json. A fresh record is re-predicted only
        # for the figures that need predictions (all but series/text classification).
        if test is None or stale:
            evaluation = run.evaluate("test")
            test = evaluation.to_dict()
        elif data.task != "classification" or data.kind == "image":
            evaluation = evaluate_data(run.model, data, "test")
    if test is not None:
        _check_metrics(test, metrics_path)
    return test, evaluation


_NEEDED = {  # the keys each task's 'test' entry of metrics.json must hold
    "classification": ("accuracy", "loss", "macro_f1", "per_class", "confusion", "classes"),
    "regression": ("loss", "mse", "mae", "rmse"),
    "seq2seq": ("accuracy", "token_accuracy", "loss"),
}


def _check_metrics(test: Any, path: Path) -> None:
    from deepscope.train.tasks import TASKS

    task = test.get("task", "classification") if isinstance(test, dict) else "classification"
    needed = _NEEDED.get(task, ("loss", "cards") if task in TASKS else None)  # other tasks: a TaskEvaluation
    if needed is None:
        raise RunError(
            f"{path} is damaged: its 'test' entry names an unknown task {task!r} "
            f"(known: {', '.join(_NEEDED)}). Delete it and run `deepscope evaluate RUN` again."
        )
    missing = [k for k in needed if not isinstance(test, dict) or k not in test]
    if missing:
        raise RunError(
            f"{path} is damaged: its 'test' entry lacks {', '.join(missing)}. "
            "Delete it and run `deepscope evaluate RUN` again."
        )


def _score_cards(test: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(label, value) cards of the test scores, by task; a regression's baseline gets its own."""
    if test is None:
        return []
    task = test.get("task", "classification")
    if task not in _NEEDED:  # a TaskEvaluation names its own cards
        cards = [
            (str(label), f"{float(test[key]):.4f}")
            for label, key in test.get("cards", [])
            if isinstance(test.get(key), (int, float))
        ]
        return cards + ([("test samples", f"{int(test['samples']):,}")] if "samples" in test else [])
    names = {
        "classification": [("accuracy", "accuracy"), ("loss", "loss"), ("macro F1", "macro_f1")],
        "seq2seq": [("whole-answer accuracy", "accuracy"), ("token accuracy", "token_accuracy"), ("loss", "loss")],
        "regression": [("MSE", "mse"), ("MAE", "mae"), ("RMSE", "rmse"), ("MASE", "mase")],
    }[task]
    cards = [(label, f"{float(test[key]):.4f}") for label, key in names if key in test]
    baseline = test.get("baseline")
    if task == "regression" and isinstance(baseline, dict) and "mae" in baseline:
        key = primary_score(baseline)
        cards.append((f"{baseline.get('name', 'baseline')} {key.upper()}", f"{float(baseline[key]):.4f}"))
    if "samples" in test:
        cards.append(("test samples", f"{int(test['samples']):,}"))
    return cards


def _mae(scores: dict[str, Any]) -> str:
    return f"MAE {scores['mae']:.4g}" + (f", MASE {scores['mase']:.3f}" if "mase" in scores else "")


SAMPLE_EPOCHS = 4  # epochs whose sample grids the report draws: the first, the last, and evenly between


def _training_samples(run_path: Path, figures_dir: Path) -> list[Section]:
    """A generative run's samples after chosen epochs (``samples/epoch_NNN.safetensors``,
    written by ``deepscope.train.quality.SampleQuality``), so the report shows them improve."""
    from deepscope.plots import image_grid_figure, save_figure
    from deepscope.train.quality import read_sample_grid

    files = sorted((run_path / "samples").glob("epoch_*.safetensors")) if (run_path / "samples").is_dir() else []
    files = [f for f in files if f.is_file()]
    if not files:
        return []
    picks = sorted({round(i * (len(files) - 1) / max(SAMPLE_EPOCHS - 1, 1)) for i in range(SAMPLE_EPOCHS)})
    figures = []
    for index in picks:
        try:
            images, _, meta = read_sample_grid(files[index])
        except Exception as error:  # a damaged grid file is reported, not drawn
            raise RunError(f"{files[index]} is damaged ({error}); delete it to draw the report.") from error
        epoch = meta.get("epoch", files[index].stem.removeprefix("epoch_"))
        columns = int(meta["columns"]) if str(meta.get("columns", "")).isdigit() else 8
        png = save_figure(
            image_grid_figure(images.numpy()[:400], columns=columns, title=f"epoch {epoch}"),
            figures_dir / f"samples_epoch_{int(epoch):03d}.png"
            if str(epoch).isdigit()
            else figures_dir / "samples.png",
        )
        figures.append(_embed(png, f"Samples after epoch {epoch} (the same latent codes every epoch)."))
    return [
        Section(
            "Samples during training",
            "The generator's samples after the first epoch, the last, and between (one row per class for a "
            "conditional model); each epoch draws the same latent codes, so changes are the training's doing.",
            figures,
        )
    ]


def _prediction_sections(evaluation: AnyEvaluation, data: Dataset, figures_dir: Path) -> list[Section]:
    """What the model predicted on the test split, drawn the way its data is read."""
    from deepscope.plots import forecast_figure, next_frames_figure, prediction_grid, save_figure

    if isinstance(evaluation, Evaluation):
        if data.kind == "series":
            from deepscope.plots import series_predictions_figure

            png = save_figure(
                series_predictions_figure(
                    data.test.tensors[0].numpy(),
                    evaluation.y_true,
                    evaluation.y_pred,
                    evaluation.probs,
                    evaluation.classes,
                ),
                figures_dir / "series_predictions.png",
            )
            return [
                Section(
                    "Test predictions",
                    "Test series by true class (one row each, every channel drawn), titled true class: "
                    "prediction (probability); mistakes first, in red.",
                    [_embed(png, "Test series with their predictions.")],
                )
            ]
        if data.kind != "image":
            return []
        png = save_figure(
            prediction_grid(
                data.test.tensors[0],
                evaluation.y_true,
                evaluation.y_pred,
                evaluation.probs,
                evaluation.classes,
                n=GRID_SIZE,
            ),
            figures_dir / "predictions.png",
        )
        return [
            Section(
                "Test predictions",
                "Each image is titled with the predicted class and its probability, "
                "over the true class. Mistakes come first (red), the most confident mistake first.",
                [_embed(png, "Test images with their predictions.")],
            )
        ]
    if isinstance(evaluation, TaskEvaluation):
        from deepscope.plots import panel_figure

        return [
            Section(
                panel.title,
                panel.caption,
                [_embed(save_figure(panel_figure(panel), figures_dir / f"{panel.name}.png"), panel.caption)],
            )
            for panel in evaluation.panels
        ]
    if isinstance(evaluation, Seq2SeqEvaluation):
        if not evaluation.mistakes:
            return [Section("Test answers", "Every test answer is right.")]
        wrong = int((evaluation.y_true != evaluation.y_pred).any(axis=1).sum())
        shown = "; ".join(f"{m['target']!r} answered {m['predicted']!r}" for m in evaluation.mistakes)
        return [
            Section(
                "Test answers",
                f"{wrong:,} wrong answers out of {len(evaluation.y_true):,}. The first "
                f"ones (the true answer, then the model's): {shown}.",
            )
        ]
    baseline = {evaluation.baseline["name"]: evaluation.y_baseline} if evaluation.baseline else {}
    if "mase_scale" in data.info and evaluation.x.ndim == 3:  # forecast windows: x (N, 1, history), y (N, horizon)
        # The test windows of the first series come first, one per origin (stride 1): their
        # first target steps are the test period in order, and the first window's input is
        # the history just before it.
        n = max(1, int(data.info["test_size"]) - int(data.info["horizon"]) + 1)
        step = {"model": evaluation.y_pred[:n, 0], **{k: v[:n, 0] for k, v in baseline.items()}}
        png = save_figure(
            forecast_figure(
                evaluation.x[0, 0],
                evaluation.y_true[:n, 0],
                step,
                title=f"{data.name}: one-step-ahead forecasts over the test period",
            ),
            figures_dir / "forecast.png",
        )
        text = f"The model's forecasts of the last {n} steps, after the history it saw: test {_mae(evaluation.scores)}."
        if evaluation.baseline:
            text += f" The {evaluation.baseline['name']} baseline: {_mae(evaluation.baseline)}."
        return [
            Section(
                "Forecast", text, [_embed(png, "Test period: truth and forecasts (step 1 of each window's horizon).")]
            )
        ]
    if evaluation.x.ndim == 5:  # videos (N, T, C, H, W)
        png = save_figure(
            next_frames_figure(
                evaluation.x[0],
                evaluation.y_true[0],
                {"model": evaluation.y_pred[0], **{k: v[0] for k, v in baseline.items()}},
            ),
            figures_dir / "next_frames.png",
        )
        return [
            Section(
                "Next frames",
                "The first test video: each column is a time step; the rows show the "
                "frame the model saw, the true next frame and the predicted ones.",
                [_embed(png, "Next-frame predictions on a test video.")],
            )
        ]
    return []


def _interpretation_section(run: Run, evaluation: Evaluation, figures_dir: Path) -> Section:
    from deepscope.report.interpretation import interpretation_figures

    tokens = None
    vocab = Path(run.path) / "vocab.json"
    if run.data.kind == "text" and vocab.is_file():
        from deepscope.data import Vocabulary

        tokens = Vocabulary.load(vocab).tokens
    result, text, figures = interpretation_figures(
        run.model, run.data, evaluation.y_true, evaluation.probs, evaluation.classes, figures_dir, tokens=tokens
    )
    markup = ""
    if tokens is not None:
        from deepscope.report.interpretation import highlighted_top_losses

        markup = highlighted_top_losses(run.model, run.data, result, tokens)
    return Section("Interpretation", text, [_embed(png, caption) for png, caption in figures], html=markup)


# ----------------------------------------------------------------------------- text
def _summary(
    config: dict[str, Any], history: list[dict[str, Any]], best: dict[str, Any] | None
) -> list[tuple[str, str]]:
    model = config.get("model", {})
    data = config.get("data", {})
    rows = [("model", model.get("name") or model.get("class") or "?")]
    if model.get("kwargs"):
        rows.append(("model arguments", ", ".join(f"{k}={v!r}" for k, v in model["kwargs"].items())))
    if "parameters" in config:
        rows.append(("parameters", f"{config['parameters']:,}"))
    rows.append(("data", f"{data.get('name', '?')} (spec {data.get('spec') or data.get('name', '?')!r})"))
    rows.append(("kind / task", f"{data.get('kind', '?')} / {data.get('task', '?')}"))
    rows.append(("input shape", " × ".join(str(s) for s in data.get("input_shape", [])) or "?"))
    classes = data.get("classes")
    if classes:
        shown = ", ".join(str(c) for c in classes[:20])
        shown += f", … ({len(classes) - 20} more)" if len(classes) > 20 else ""
        rows.append(("classes", f"{len(classes)}: {shown}"))
    sizes = data.get("sizes", {})
    if sizes:
        rows.append(("split sizes", " · ".join(f"{k} {v:,}" for k, v in sizes.items())))
    recipe = config.get("recipe", {})
    if recipe:
        rows.append(("recipe", ", ".join(f"{k}={v}" for k, v in recipe.items())))
    if best is not None:
        rows.append(("best epoch", f"{best['epoch']} of {len(history)}: {best['monitor']} {best[best['monitor']]:.4f}"))
    times = [float(r["time"]) for r in history if "time" in r]
    if times:
        speed = [float(r["samples_per_s"]) for r in history if "samples_per_s" in r]
        rate = f" ({sum(speed) / len(speed):,.0f} training samples/s)" if speed else ""
        rows.append(("seconds per epoch", f"{sum(times) / len(times):.2f}{rate}"))
    versions = {"deepscope": config.get("deepscope_version"), **config.get("versions", {})}
    rows.append(("versions", ", ".join(f"{k} {v}" for k, v in versions.items() if v)))
    if config.get("created"):
        rows.append(("created", str(config["created"])))
    return rows


def _curves_text(history: list[dict[str, Any]], best: dict[str, Any] | None) -> str:
    last = history[-1]
    parts = [f"{len(history)} epoch{'s' if len(history) != 1 else ''}."]
    if best is not None:
        parts.append(
            f"The kept weights come from epoch {best['epoch']} (dashed line), where {best['monitor']} "
            f"was {best[best['monitor']]:.4f}."
        )
    if "val_loss" in last and "loss" in last and not math.isnan(float(last["val_loss"])):
        parts.append(f"Final training loss {float(last['loss']):.4f}, validation loss {float(last['val_loss']):.4f}.")
    return " ".join(parts)


def _per_class_rows(test: dict[str, Any] | None) -> list[dict[str, Any]]:
    if test is None or "per_class" not in test:
        return []
    return [{"name": name, **test["per_class"][name]} for name in test["classes"] if name in test["per_class"]]


# ----------------------------------------------------------------------------- figures
def _embed(png: Path, caption: str) -> Figure:
    return Figure(caption, uri=_data_uri(png.read_bytes()))


def _embed_file(run_path: Path, file: str, caption: str) -> Figure:
    """A section's figure; a missing or unsupported file shows as a note, not a crash."""
    relative = relative_to_run(run_path, Path(file), must_exist=False)  # RunError if outside the run
    path = run_path / relative
    if not path.is_file():
        return Figure(caption, missing=f"figure file {relative} is missing")
    uri = _data_uri(path.read_bytes())
    return Figure(caption, uri=uri) if uri else Figure(caption, missing=f"{relative} is not a PNG or JPEG image")


def _data_uri(content: bytes) -> str | None:
    if content.startswith(PNG_SIGNATURE):
        mime = "image/png"
    elif content.startswith(JPEG_SIGNATURE):
        mime = "image/jpeg"
    else:  # SVG and friends may carry scripts: only raster images are embedded
        return None
    return f"data:{mime};base64,{base64.b64encode(content).decode('ascii')}"
