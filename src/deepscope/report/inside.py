"""The "Inside the network" section of a run's report, drawn into run/figures/ (used by
``deepscope inspect`` and ``deepscope demo``).

What applies is decided first, from the model and the run's config alone, before any data is
loaded or anything is drawn:

- a CNN on images (``nn.Conv2d`` layers, inputs (C, H, W)): its first-layer kernels, the feature
  maps of one input, the top patches of each layer and (``maximize``) maximised inputs;
- a model whose first layer is dense on the flattened image (softmax regression, MLPs): its
  weight rows drawn as images of the input shape, what each unit looks for;
- a model with a hidden layer before its last dense layer: the t-SNE map of that layer's
  features (``embedding`` > 0).

When nothing applies the call fails at once with an InvalidArgumentError; ``inside_plan``
makes that decision alone, so a caller can make it before loading the data.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from deepscope import inspect, plots
from deepscope.errors import DeepscopeError, InvalidArgumentError, invalid
from deepscope.report.sections import add_report_section
from deepscope.train import Run

__all__ = ["InsidePlan", "inside_plan", "inside_the_network"]

MAX_TEMPLATES = 64  # dense weight rows drawn (an MLP may have hundreds of hidden units)


@dataclass(frozen=True)
class InsidePlan:
    """What "Inside the network" draws for a model: ``convs`` (conv layers: kernels, feature
    maps, top patches, maximised inputs), ``templates`` (a dense first layer's weight rows as
    images) and ``hidden`` (the layer of the embedding map); empty/None where it does not apply."""

    convs: list[str]
    templates: inspect.Filters | None
    hidden: str | None


def inside_plan(
    run: Run, x: torch.Tensor | None = None, layers: Sequence[str] | None = None, embedding: int = 1000
) -> InsidePlan:
    """Decide what :func:`inside_the_network` can draw for ``run``, from its model and
    config.json alone (no data is loaded; one forward pass on two blank inputs). Raises
    InvalidArgumentError when nothing applies, or when ``x`` or ``layers`` do not fit the model,
    so that ``deepscope inspect`` fails in a second instead of after loading the data."""
    model = run.model
    in_shape = tuple(run.config.get("data", {}).get("input_shape") or getattr(run.data, "input_shape", ()))
    images = len(in_shape) == 3
    convs = inspect.conv_layers(model) if images else []
    templates = _dense_templates(model, in_shape) if images and not convs else None
    hidden = _hidden_layer(model, in_shape) if embedding else None
    if not (convs or templates or hidden):
        raise InvalidArgumentError(
            f"Nothing to draw inside run {run.path}: its model ({type(model).__name__}, input {in_shape}) has no "
            "nn.Conv2d layer on images, no first nn.Linear layer on the flattened image and no hidden layer "
            "before a last nn.Linear whose output is one tensor"
            + ("" if embedding else " (and the embedding map is off: embedding=0)")
            + "."
        )
    if layers and not convs:
        raise invalid("layers", "None: the model has no conv or pooling layer to choose from", list(layers))
    if x is not None and (not isinstance(x, torch.Tensor) or tuple(x.shape) != in_shape):
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise invalid("x", f"one image tensor of the run's input shape {in_shape}", shape)
    if x is not None and not convs:
        raise invalid("x", "None: feature maps need a model with conv layers", f"a tensor {in_shape}")
    return InsidePlan(convs, templates, hidden)


def inside_the_network(
    run: Run,
    x: torch.Tensor | None = None,
    layers: Sequence[str] | None = None,
    k: int = 9,
    maximize: bool = True,
    embedding: int = 1000,
    echo: Callable[[str], None] = lambda line: None,
) -> list[Path]:
    """Write the "Inside the network" figures of ``run`` into run/figures/ and add the section
    to its report; returns the figure paths. What is drawn depends on the model (see the module
    docstring and :func:`inside_plan`, which runs first). ``x`` (C, H, W) is the image whose
    feature maps are drawn (default: the first test image); ``layers`` the conv/pool layers for
    feature maps and top patches (default: all); ``k`` patches per channel; ``embedding``
    samples in the t-SNE map (0: none). The run needs its data (the test split is drawn from)."""
    plan = inside_plan(run, x, layers, embedding)
    model, data = run.model, run.data
    if data is None:
        raise invalid("run", "a run opened with its data (top patches and maps use its test split)", str(run.path))
    test_x, test_y = data.test.tensors  # (N, *input_shape), (N,) for classification
    figures: list[tuple[Path, str]] = []
    lines = []

    def save(figure: object, name: str, caption: str) -> None:
        path = plots.save_figure(figure, run.path / "figures" / f"inspect_{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png")
        figures.append((path, caption))
        echo(f"  {path}")

    if plan.convs:
        convs = plan.convs
        chosen = list(layers) if layers else None
        first_conv = next((n for n in chosen or [] if n in convs), convs[0])
        result = inspect.filters(model, first_conv)
        save(
            plots.filters_figure(result),
            "filters",
            f"The {len(result.kernels)} learned kernels of layer {result.label}.",
        )
        maps = inspect.feature_maps(model, chosen, test_x[:1] if x is None else x[None])
        save(
            plots.feature_maps_figure(maps),
            "feature_maps",
            "Feature maps of one input: what every conv and pooling layer computes from it.",
        )
        for layer in chosen or convs:
            patches = inspect.top_patches(model, layer, test_x, k=k)
            save(
                plots.top_patches_figure(patches),
                f"top_patches_{layer}",
                f"For each channel of layer {patches.label}, the {patches.k} test-image patches "
                f"({patches.rf_size[0]}x{patches.rf_size[1]} pixels, its receptive field) that activate it most.",
            )
        if maximize:
            found = inspect.maximize_channels(model, first_conv, inputs=test_x)
            beaten = sum(bool(r.exceeds_data) for r in found)
            save(
                plots.maximized_figure(found),
                f"maximize_{first_conv}",
                f"Inputs built by gradient ascent for each channel of layer {first_conv}: "
                f"{beaten} of {len(found)} excite their channel's centre unit more than any test image does.",
            )
            lines.append(
                f"Activation maximisation: {beaten} of {len(found)} channels of layer {first_conv} respond "
                "more to the input found by gradient ascent than to any test image."
            )
        lines.insert(
            0,
            "What the trained network computes: its first-layer kernels, the feature maps of one input, "
            "and for each channel the dataset regions it responds to most.",
        )
    if plan.templates:
        templates = plan.templates
        units = len(templates.kernels)
        shown = dataclasses.replace(templates, kernels=templates.kernels[:MAX_TEMPLATES])
        first = f"the first {MAX_TEMPLATES} of " if units > MAX_TEMPLATES else ""
        save(
            plots.filters_figure(shown),
            "filters",
            f"The weights of the first dense layer {templates.label}: {first}{units} rows, each drawn as an image "
            "(red: pixels that raise the unit's output, blue: pixels that lower it).",
        )
        lines.append(
            "The model has no convolutions: its first dense layer weighs every pixel of the image, so each "
            "unit's weights, drawn in the image's shape, show the pattern it responds to (a template)."
        )
    if plan.hidden:
        labels = test_y if data.task == "classification" else None
        mapped = inspect.embedding_map(model, plan.hidden, test_x, labels=labels, classes=data.classes, n=embedding)
        save(
            plots.embedding_figure(mapped),
            "embedding",
            f"t-SNE map of layer {mapped.layer}'s features for {len(mapped.coords)} test samples"
            + (", coloured by class." if labels is not None else "."),
        )
    add_report_section(run.path, "Inside the network", figures, text=" ".join(lines))
    return [path for path, _ in figures]


def _dense_templates(model: nn.Module, in_shape: tuple[int, ...]) -> inspect.Filters | None:
    """The first dense layer's weight rows as images of ``in_shape``, when the model starts
    with a dense layer on the flattened image; else None. Reads weights only."""
    layer = inspect.input_dense_layer(model)
    if layer is None:
        return None
    try:
        return inspect.filters(model, layer, in_shape=in_shape)
    except InvalidArgumentError:  # a dense layer that does not read the flattened image
        return None


def _hidden_layer(model: nn.Module, in_shape: tuple[int, ...]) -> str | None:
    """The layer an embedding map shows (the input of the last dense layer), when a layer with
    parameters computes it and its output is one tensor; else None. One forward pass on two
    blank inputs, so models whose layers return tuples (recurrent layers) are told apart."""
    try:
        layer = inspect.penultimate_layer(model)
    except InvalidArgumentError:
        return None
    leaves = [n for n, m in model.named_modules() if n and not list(m.children())]
    upto = leaves[: leaves.index(layer) + 1] if layer in leaves else []
    if not any(any(True for _ in inspect.get_layer(model, n).parameters(recurse=False)) for n in upto):
        return None  # only reshaping before it: its "features" are the raw input
    tokens = any(isinstance(m, (nn.Embedding, nn.EmbeddingBag)) for m in model.modules())
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    blank = torch.zeros((2, *in_shape), dtype=torch.long if tokens else torch.float32, device=device)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            inspect.layer_outputs(model, [layer], blank)
    except (DeepscopeError, RuntimeError):
        return None
    finally:
        model.train(was_training)
    return layer
