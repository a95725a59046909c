"""deepscope: deep learning on images, time series and text that shows what it learned.

``import deepscope`` is fast: torch and the heavy libraries load on first use of a
submodule (``deepscope.data``, ``deepscope.zoo``, ...) or of ``fit``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from deepscope.train import Run

_SUBMODULES = (
    "data",
    "zoo",
    "train",
    "nn",
    "mechanics",
    "inspect",
    "explain",
    "plots",
    "report",
    "runs",
    "export",
    "recipe",
    "limits",
    "notebook",
    "lessons",
)

__all__ = ["__version__", "finetune", "fit", "open_run", "tune", *_SUBMODULES]


def fit(model: Any, data: Any, recipe: Any = None, **kwargs: Any) -> Run:
    """Train ``model`` on ``data``: :func:`deepscope.train.fit` itself (a zoo model trains with
    its entry's recipe unless ``recipe`` is given; keyword overrides: ``epochs=``, ``lr=``, ...)."""
    from deepscope.train import fit as train_fit

    return train_fit(model, data, recipe, **kwargs)


def finetune(backbone: Any, data: Any, **kwargs: Any) -> Run:
    """Fine-tune a pretrained network or a run on a data spec (see :func:`deepscope.runs.finetune`)."""
    from deepscope import runs

    return runs.finetune(backbone, data, **kwargs)


def tune(model: str, data: str, **kwargs: Any) -> Any:
    """Choose a zoo model's hyperparameters on validation with Optuna (see :func:`deepscope.runs.tune`)."""
    from deepscope import runs

    return runs.tune(model, data, **kwargs)


def open_run(path: Any, **kwargs: Any) -> Run:
    """Open a run folder (see :func:`deepscope.runs.open_run`)."""
    from deepscope import runs

    return runs.open_run(path, **kwargs)


def __getattr__(name: str) -> Any:
    # Lazy submodules (PEP 562), so `import deepscope` does not import torch.
    if name in _SUBMODULES:
        return importlib.import_module(f"deepscope.{name}")
    raise AttributeError(f"module 'deepscope' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


def _register_notebook_display() -> None:
    """Inside IPython/Jupyter, show runs and explanations as HTML (deepscope.notebook)."""
    import sys

    if "IPython" in sys.modules:
        from deepscope.notebook import register

        register()


_register_notebook_display()
