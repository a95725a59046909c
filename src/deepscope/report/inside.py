"""The "Inside the network" section of a CNN run's report: filters, feature maps, top
patches, maximised inputs and an embedding map, drawn into run/figures/ (used by
``deepscope inspect`` and ``deepscope demo``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from deepscope import inspect, plots
from deepscope.errors import invalid
from deepscope.report.sections import add_report_section
from deepscope.train import Run

__all__ = ["inside_the_network"]


def inside_the_network(
    run: Run,
    x: torch.Tensor | None = None,
    layers: Sequence[str] | None = None,
    k: int = 9,
    maximize: bool = True,
    embedding: int = 1000,
    echo: Callable[[str], None] = lambda line: None,
) -> list[Path]:
    """Write the "Inside the network" figures of ``run`` (filters, feature maps of ``x`` or the
    first test image, top patches, maximised inputs, embedding map) into run/figures/ and add
    the section to its report (``deepscope inspect`` and ``deepscope demo``)."""
    model, data = run.model, run.data
    if data is None:
        raise invalid("run", "a run whose data can be loaded (top patches need its test images)", str(run.path))
    convs = inspect.conv_layers(model)
    if not convs:
        raise invalid("run", "a run of a CNN (a model with nn.Conv2d layers)", str(run.path))
    chosen = list(layers) if layers else None
    first_conv = next((n for n in chosen or [] if n in convs), convs[0])
    x = data.test.tensors[0][0] if x is None else x  # (C, H, W)
    figures: list[tuple[Path, str]] = []
    lines = []

    def save(figure: object, name: str, caption: str) -> None:
        path = plots.save_figure(figure, run.path / "figures" / f"inspect_{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png")
        figures.append((path, caption))
        echo(f"  {path}")

    result = inspect.filters(model, first_conv)
    save(plots.filters_figure(result), "filters", f"The {len(result.kernels)} learned kernels of layer {result.label}.")
    maps = inspect.feature_maps(model, x, chosen)
    save(
        plots.feature_maps_figure(maps),
        "feature_maps",
        "Feature maps of one input: what every conv and pooling layer computes from it.",
    )
    for layer in chosen or convs:
        patches = inspect.top_patches(model, data, layer, k=k)
        save(
            plots.top_patches_figure(patches),
            f"top_patches_{layer}",
            f"For each channel of layer {patches.label}, the {patches.k} test-image patches "
            f"({patches.rf_size[0]}x{patches.rf_size[1]} pixels, its receptive field) that activate it most.",
        )
    if maximize:
        found = inspect.maximize_channels(model, first_conv, in_shape=data.input_shape, data=data)
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
    if embedding:
        mapped = inspect.embedding_map(model, data, n=embedding)
        save(
            plots.embedding_figure(mapped),
            "embedding",
            f"t-SNE map of layer {mapped.layer}'s features for {len(mapped.coords)} test samples, coloured by class.",
        )
    text = (
        "What the trained network computes: its first-layer kernels, the feature maps of one input, "
        "and for each channel the dataset regions it responds to most. " + " ".join(lines)
    )
    add_report_section(run.path, "Inside the network", figures, text=text)
    return [path for path, _ in figures]
