"""Image grids and latent maps."""

from __future__ import annotations

import numpy as np
import pytest

from deepscope.errors import InvalidArgumentError
from deepscope.plots import image_grid_figure, latent_map_figure, panel_figure
from deepscope.train import Panel


def test_an_unlabelled_grid_is_one_mosaic_of_the_images():
    images = np.zeros((6, 1, 4, 4), dtype=np.float32)
    images[5] = 1.0  # the last image is white: bottom right of a 3-wide grid
    fig = image_grid_figure(images, columns=3)
    mosaic = fig.axes[0].images[0].get_array()
    assert mosaic.shape == (8, 12)
    assert float(mosaic[4:, 8:].min()) == 1.0 and float(mosaic[:4].max()) == 0.0


def test_a_labelled_grid_titles_each_image_and_refuses_a_wrong_count():
    fig = image_grid_figure(np.random.rand(4, 3, 5, 10), columns=2, labels=list("abcd"))
    assert [ax.get_title() for ax in fig.axes] == list("abcd")
    with pytest.raises(InvalidArgumentError, match="one label per image"):
        image_grid_figure(np.random.rand(4, 1, 5, 5), labels=["a"])
    with pytest.raises(InvalidArgumentError, match=r"\(N, C, H, W\)"):
        image_grid_figure(np.random.rand(4, 5, 5))


def test_panels_draw_as_their_kind():
    scatter = Panel(
        "m", "Map", "c", "scatter", np.random.rand(20, 2), labels=np.arange(20) % 3, classes=["x", "y", "z"]
    )
    fig = panel_figure(scatter)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["x", "y", "z"]
    assert latent_map_figure(np.random.rand(5, 2)).axes[0].get_xlabel() == "z[0]"
    with pytest.raises(InvalidArgumentError, match="'images' or 'scatter'"):
        panel_figure(Panel("p", "t", "c", "bars", np.zeros(3)))
