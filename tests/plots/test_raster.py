"""plots.raster: feature maps and explanation overlays as pixels, in the figures' colours."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from deepscope import explain, inspect, plots
from deepscope.errors import InvalidArgumentError


def test_colorize_uses_the_colormap_ends_and_marks_separators():
    image = np.array([[0.0, 1.0], [np.nan, 0.5]], dtype=np.float32)
    rgb = plots.colorize(image, "gray", 0.0, 1.0)
    assert rgb.dtype == np.uint8 and rgb.shape == (2, 2, 3)
    assert rgb[0, 0].tolist() == [0, 0, 0] and rgb[0, 1].tolist() == [255, 255, 255]
    assert rgb[1, 0].tolist() == [159, 180, 204]  # NaN: the mosaic separator colour
    assert 100 < rgb[1, 1, 0] < 155


def _cnn_and_digit():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 3)).eval()
    x = torch.zeros(1, 1, 8, 8)
    x[0, 0, 2:6, 3:5] = 1.0
    return model, x


def test_feature_map_pixels_stack_the_input_and_each_layer_with_captions():
    model, x = _cnn_and_digit()
    maps = inspect.feature_maps(model, None, x)
    pixels, captions = plots.feature_map_pixels(maps, width=200)
    assert pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3
    assert captions[0] == "input (1, 8, 8)" and len(captions) == len(maps.layers) + 1
    assert pixels.shape[1] >= 200  # enlarged to about the width asked
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 5  # coloured maps, not a blank picture
    with pytest.raises(InvalidArgumentError, match="`sample` must be an index in \\[0, 0\\]"):
        plots.feature_map_pixels(maps, sample=1)


def test_attribution_pixels_put_the_heat_where_the_attribution_is():
    model, x = _cnn_and_digit()
    a = explain.explain(model, x, method="saliency")
    pair = plots.attribution_pixels(a, 0, width=8 * 2 + 1)
    assert pair.dtype == np.uint8 and pair.shape == (8, 17, 3)  # input | 1-px gap | overlay, not enlarged
    assert pair[:, :8].tolist() == (np.repeat(x[0, 0, :, :, None].numpy(), 3, -1) * 255).astype(np.uint8).tolist()
    overlay = pair[:, 9:].astype(int)
    heat = a.heatmap()[0].numpy()
    strongest, weakest = (
        np.unravel_index(np.abs(heat).argmax(), heat.shape),
        np.unravel_index(np.abs(heat).argmin(), heat.shape),
    )
    # diverging colours: strong attribution is far from the colormap's white middle
    assert (
        np.abs(overlay[strongest] - overlay[strongest].mean()).sum()
        > np.abs(overlay[weakest] - overlay[weakest].mean()).sum()
    )


def test_png_data_uri_round_trips_and_refuses_other_arrays():
    rgb = (np.arange(4 * 5 * 3) % 256).astype(np.uint8).reshape(4, 5, 3)
    uri = plots.png_data_uri(rgb)
    header, _, body = uri.partition(",")
    assert header == "data:image/png;base64"
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(base64.b64decode(body)))), rgb)
    with pytest.raises(InvalidArgumentError, match="`rgb` must be a \\(H, W, 3\\) uint8 array"):
        plots.png_data_uri(rgb.astype(np.float32))
