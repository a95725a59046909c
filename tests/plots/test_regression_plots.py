"""Forecast and next-frame figures: what they draw and what they refuse."""

from __future__ import annotations

import numpy as np
import pytest

from deepscope.errors import InvalidArgumentError
from deepscope.plots import forecast_figure, next_frames_figure


def test_forecast_figure_draws_history_before_the_truth_and_each_forecast():
    fig = forecast_figure(np.arange(5.0), np.arange(3.0), {"model": np.ones(3), "naive": np.zeros(3)})
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines() if not line.get_label().startswith("_")}
    assert list(lines) == ["history", "truth", "model", "naive"]
    assert lines["history"].get_xdata().tolist() == [-5, -4, -3, -2, -1]
    assert lines["naive"].get_xdata().tolist() == [0, 1, 2]


def test_forecast_figure_refuses_a_forecast_of_another_length():
    with pytest.raises(InvalidArgumentError, match=r"`forecasts\['model'\]` must be 3 values"):
        forecast_figure(np.arange(5.0), np.arange(3.0), {"model": np.ones(4)})


def test_next_frames_figure_has_a_row_per_video_and_a_column_per_step():
    video = np.random.default_rng(0).random((4, 1, 6, 6))
    fig = next_frames_figure(video, video, {"model": video, "copy": video})
    assert len(fig.axes) == 4 * 4
    with pytest.raises(InvalidArgumentError, match="same shape"):
        next_frames_figure(video, video[:2], {})
