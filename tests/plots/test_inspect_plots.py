"""Figures of deepscope.inspect results: mosaics, per-layer grids, patch grids, maps."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from deepscope.errors import InvalidArgumentError
from deepscope.inspect import Embedding, FeatureMaps, Filters, Maximized, TopPatches
from deepscope.plots import (
    embedding_figure,
    feature_maps_figure,
    filters_figure,
    maximized_figure,
    save_figure,
    top_patches_figure,
)
from deepscope.plots.inspect import mosaic

RNG = np.random.default_rng(0)


def _image(fig: Figure, axis: int = 0) -> np.ndarray:
    return np.asarray(fig.axes[axis].get_images()[0].get_array())


def test_mosaic_tiles_row_by_row_with_separators():
    tiles = np.arange(5 * 2 * 3, dtype=np.float32).reshape(5, 2, 3)
    out = mosaic(tiles, columns=2)
    assert out.shape == (3 * 3 - 1, 2 * 4 - 1)
    np.testing.assert_array_equal(out[0:2, 4:7], tiles[1])
    np.testing.assert_array_equal(out[6:8, 0:3], tiles[4])
    assert np.isnan(out[2]).all() and np.isnan(out[:, 3]).all()  # separators
    assert np.isnan(out[6:8, 4:7]).all()  # the empty last slot


def test_filters_figure_shows_every_kernel(tmp_path):
    kernels = RNG.normal(size=(6, 1, 3, 3)).astype(np.float32)
    fig = filters_figure(Filters("0", "0: Conv2d 1->6, 3x3", kernels, "none", 1), columns=3)
    shown = _image(fig)
    assert shown.shape == (7, 11)
    np.testing.assert_allclose(shown[4:7, 8:11], kernels[5, 0])
    low, high = fig.axes[0].get_images()[0].get_clim()
    assert low == pytest.approx(-high)  # diverging scale centred on 0
    path = save_figure(fig, tmp_path / "filters.png")
    assert path.stat().st_size > 2000


def test_filters_figure_of_rgb_and_per_channel_kernels():
    rgb = filters_figure(Filters("c", "c", RNG.normal(size=(4, 3, 5, 5)).astype(np.float32), "none", 3))
    assert _image(rgb).shape == (5, 5 * 4 + 3, 3)
    per_channel = filters_figure(Filters("c", "c", RNG.normal(size=(4, 2, 3, 3)).astype(np.float32), "none", 2))
    assert _image(per_channel).shape == (4 * 4 - 1, 2 * 4 - 1)  # rows: filters, columns: input channels


def test_feature_maps_figure_has_the_input_and_one_grid_per_layer(tmp_path):
    maps = {"0": RNG.normal(size=(2, 8, 10, 10)).astype(np.float32), "2": RNG.random((2, 8, 5, 5)).astype(np.float32)}
    inputs = RNG.random((2, 1, 10, 10)).astype(np.float32)
    result = FeatureMaps(inputs, maps, {"0": "0: Conv2d", "2": "2: MaxPool2d 2"})
    fig = feature_maps_figure(result, sample=1, columns=4)
    images = [ax.get_images()[0] for ax in fig.axes if ax.get_images()]
    assert len(images) == 3
    np.testing.assert_allclose(np.asarray(images[0].get_array()), inputs[1, 0])  # the chosen sample
    assert np.asarray(images[1].get_array()).shape == (2 * 11 - 1, 4 * 11 - 1)
    np.testing.assert_allclose(np.asarray(images[2].get_array())[6:11, 6:11], maps["2"][1, 5])
    assert images[2].get_clim()[0] == 0  # non-negative maps: sequential scale from 0
    titles = [ax.get_title() for ax in fig.axes]
    assert "0: Conv2d: 8 maps of 10x10" in titles
    assert save_figure(fig, tmp_path / "maps.png").stat().st_size > 5000


def test_feature_maps_figure_caps_the_channels_shown():
    result = FeatureMaps(np.zeros((1, 1, 6, 6), np.float32), {"0": np.ones((1, 100, 4, 4), np.float32)}, {"0": "0"})
    fig = feature_maps_figure(result, max_channels=32, columns=16)
    assert np.asarray(fig.axes[1].get_images()[0].get_array()).shape == (2 * 5 - 1, 16 * 5 - 1)
    assert "first 32 of 100" in fig.axes[1].get_title()
    with pytest.raises(InvalidArgumentError, match=r"`sample` must be an index in \[0, 0\]"):
        feature_maps_figure(result, sample=1)


def _top_patches(channels: int = 5, k: int = 4) -> TopPatches:
    patches = RNG.random((channels, k, 1, 3, 3)).astype(np.float32)
    return TopPatches(
        "0",
        "0: Conv2d 1->5, 3x3",
        patches,
        np.sort(RNG.random((channels, k)))[:, ::-1],
        np.zeros((channels, k), np.int64),
        np.zeros((channels, k, 2), np.int64),
        np.zeros((channels, k, 4), np.int64),
        (3, 3),
        (1, 1),
        100,
    )


def test_top_patches_figure_puts_each_channels_patches_in_a_cell(tmp_path):
    result = _top_patches()
    fig = top_patches_figure(result, columns=5)
    shown = _image(fig)
    cell = 2 * 4 - 1  # 2x2 patches of 3 pixels with 1-pixel separators
    gap = 3
    assert shown.shape == (cell, 5 * cell + 4 * gap)
    start = 2 * (cell + gap)  # channel 2's cell, its patch 1 (top right)
    np.testing.assert_allclose(shown[0:3, start + 4 : start + 7], result.patches[2, 1, 0])
    assert [t.get_text() for t in fig.axes[0].texts] == ["0", "1", "2", "3", "4"]
    assert "over 100 images" in fig.axes[0].get_title()
    assert save_figure(fig, tmp_path / "patches.png").stat().st_size > 2000


def test_top_patches_figure_rejects_unknown_channels():
    with pytest.raises(InvalidArgumentError, match=r"`channels` must be channel indices in \[0, 4\]"):
        top_patches_figure(_top_patches(), channels=[1, 7])


def test_maximized_figure_titles_each_channel_with_value_and_data_max():
    results = [
        Maximized("0", c, "center", RNG.random((1, 8, 8)).astype(np.float32), 1.0 + c, 0.1, np.zeros(3), data_max=1.5)
        for c in range(3)
    ]
    fig = maximized_figure(results, columns=3)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["ch 0: 1.00\ndata 1.50", "ch 1: 2.00\ndata 1.50", "ch 2: 3.00\ndata 1.50"]
    assert "2 of 3 beat every image" in fig.get_suptitle()
    assert fig.axes[0].get_images()[0].get_array().shape == (8, 8)  # no box: the whole input
    with pytest.raises(InvalidArgumentError, match="non-empty list"):
        maximized_figure([])


def test_maximized_figure_crops_to_what_the_centre_unit_sees():
    inputs = RNG.random((2, 1, 12, 12)).astype(np.float32)
    results = [Maximized("0", c, "center", inputs[c], 1.0, 0.0, np.zeros(2), box=(4, 5, 7, 8)) for c in range(2)]
    fig = maximized_figure(results)
    np.testing.assert_allclose(fig.axes[1].get_images()[0].get_array(), inputs[1, 0, 4:7, 5:8])
    assert "the 3x3 pixels its centre unit sees" in fig.get_suptitle()
    assert maximized_figure(results, crop=False).axes[0].get_images()[0].get_array().shape == (12, 12)


def test_embedding_figure_colours_classes_and_places_thumbnails(tmp_path):
    coords = RNG.normal(size=(60, 2)).astype(np.float32)
    labels = np.arange(60) % 3
    result = Embedding(
        "5",
        coords,
        labels,
        np.arange(60),
        RNG.random((60, 1, 8, 8)).astype(np.float32),
        64,
        50,
        classes=["a", "b", "c"],
    )
    fig = embedding_figure(result, thumbnails=16)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b", "c"]
    assert len(ax.collections) == 3
    thumbnails = list(ax.artists)  # AnnotationBbox artists
    assert 4 <= len(thumbnails) <= 16
    assert save_figure(fig, tmp_path / "embedding.png").stat().st_size > 10000


def test_embedding_figure_of_non_image_inputs_has_no_thumbnails():
    coords = RNG.normal(size=(20, 2)).astype(np.float32)
    result = Embedding("2", coords, None, np.arange(20), RNG.normal(size=(20, 2, 10)).astype(np.float32), 6, 6)
    ax = embedding_figure(result).axes[0]
    assert len(ax.collections) == 1 and not list(ax.artists)  # one grey cloud, series are not drawn as images
