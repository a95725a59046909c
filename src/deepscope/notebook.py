"""Rich display in Jupyter: a ``Run``, an ``Attribution``, an ``Interpretation`` and a
``Faithfulness`` show as HTML with their figures inline, and the Figures of
``deepscope.plots`` as PNG.

The result types stay plain (``train`` and ``explain`` never draw); this module registers
HTML formatters for them with IPython, by type name, so nothing heavy is imported until such
an object is displayed. ``import deepscope`` calls :func:`register` when it runs inside
IPython; ``AuditResult`` has its own ``_repr_html_``.
"""

from __future__ import annotations

import html
from typing import Any

__all__ = ["attribution_html", "faithfulness_html", "interpretation_html", "register", "run_html"]


def _png(fig: Any) -> str:
    from deepscope.plots import figure_data_uri

    return f'<img src="{figure_data_uri(fig)}">'


def run_html(run: Any) -> str:
    """A run: name, folder, model, data, best epoch and test score, learning curves."""
    from deepscope.plots import learning_curves

    config = run.config
    rows = {
        "folder": str(run.path),
        "model": config.get("model", {}).get("name", type(run.model).__name__),
        "data": config.get("data", {}).get("spec", ""),
        "epochs": len(run.history),
    }
    if run.best_epoch:
        rows["best epoch"] = f"{run.best_epoch} ({run.monitor} {run.best_value:.4f})"
    table = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows.items())
    curves = _png(learning_curves(list(run.history), best_epoch=run.best_epoch)) if run.history else ""
    return f"<div><b>{html.escape(run.name)}</b><table>{table}</table>{curves}</div>"


def attribution_html(attribution: Any, limit: int = 4) -> str:
    """An attribution: its method and targets, and the figure of the first ``limit`` inputs
    (text attributions show their token ids' values; draw words with ``plots.attribution_figure``)."""
    from deepscope.plots import attribution_figure

    head = html.escape(repr(attribution))
    if attribution.kind == "text":
        return f"<div><code>{head}</code></div>"
    figures = "".join(_png(attribution_figure(attribution, i)) for i in range(min(limit, len(attribution.inputs))))
    return f"<div><code>{head}</code><br>{figures}</div>"


def interpretation_html(interpretation: Any) -> str:
    from deepscope.plots import reliability_figure

    text = html.escape(interpretation.text())
    return f"<div><pre>{text}</pre>{_png(reliability_figure(interpretation))}</div>"


def faithfulness_html(result: Any) -> str:
    from deepscope.plots import faithfulness_figure

    summary = result.summary()
    head = f"{html.escape(result.method)}: deletion {summary['deletion_area']:.3f}, insertion {summary['insertion_area']:.3f}"
    return f"<div>{head}<br>{_png(faithfulness_figure([result]))}</div>"


FORMATTERS = {
    ("deepscope.train.run", "Run"): run_html,
    ("deepscope.explain.attribution", "Attribution"): attribution_html,
    ("deepscope.explain.interpret", "Interpretation"): interpretation_html,
    ("deepscope.explain.faithfulness", "Faithfulness"): faithfulness_html,
}


def register(shell: Any = None) -> bool:
    """Register the HTML formatters with the running IPython shell (or ``shell``); False
    outside IPython."""
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
    if shell is None:
        return False
    formatter = shell.display_formatter.formatters["text/html"]
    for (module, name), function in FORMATTERS.items():
        formatter.for_type_by_name(module, name, function)
    # deepscope.plots returns Figures on the Agg canvas (no pyplot): show them inline as PNG
    # even where no `%matplotlib inline` backend is active.
    shell.display_formatter.formatters["image/png"].for_type_by_name("matplotlib.figure", "Figure", _figure_png)
    return True


def _figure_png(fig: Any) -> bytes:
    from deepscope.plots import figure_png

    return figure_png(fig)
