"""Time-series models: UCR/UEA classifiers (FCN, ResNet, InceptionTime, RNNs, a causal 1-D
CNN) over (N, C, T) series, and a small forecaster over (history -> horizon) windows.

The classifier recipes follow Fawaz et al. 2019 (Adam, lr 1e-3, small batches, keep the
weights with the lowest *training* loss: UCR training sets are too small, often 20-50
series, for a validation split to choose well), with a cosine schedule that reaches their
accuracy in at most a fifth of their 1,500-2,000 epochs.
"""

from __future__ import annotations

import torch
from torch import nn

from deepscope.nn import (
    CausalConv1d,
    ConvBlock1d,
    GlobalAvgPool1d,
    InceptionModule1d,
    Recurrent,
    ResidualBlock1d,
    TimeFirst,
)
from deepscope.recipe import Recipe
from deepscope.zoo.registry import register

__all__ = ["cnn1d", "fcn", "forecast_mlp", "gru_classifier", "inception_time", "lstm_classifier", "resnet1d"]

UCR_RECIPE = Recipe(
    epochs=300, batch_size=16, optimizer="adamw", lr=1e-3, weight_decay=1e-4, schedule="cosine", monitor="loss"
)


@register(
    "fcn",
    kind="series",
    reference="Wang et al. 2017 FCN, as run by Fawaz et al. 2019 (2,000 epochs): GunPoint 100.0%, "
    "ItalyPowerDemand 96.1%, JapaneseVowels 99.3% test accuracy",
    recipe=UCR_RECIPE,
    example_shape=(1, 150),
    example_classes=2,
)
def fcn(in_shape: tuple[int, int], num_classes: int, filters: tuple[int, int, int] = (128, 256, 128)) -> nn.Sequential:
    """Fully convolutional net: three conv-BN-ReLU blocks (kernels 8, 5, 3), global average pooling, dense."""
    c, _ = in_shape
    return nn.Sequential(
        ConvBlock1d(c, filters[0], 8),  # (N, 128, T)
        ConvBlock1d(filters[0], filters[1], 5),  # (N, 256, T)
        ConvBlock1d(filters[1], filters[2], 3),  # (N, 128, T)
        GlobalAvgPool1d(),  # (N, 128)
        nn.Linear(filters[2], num_classes),  # logits
    )


@register(
    "resnet1d",
    kind="series",
    reference="Wang et al. 2017 ResNet, as run by Fawaz et al. 2019 (1,500 epochs): GunPoint 99.1%, "
    "ItalyPowerDemand 96.3%, JapaneseVowels 99.2% test accuracy",
    recipe=UCR_RECIPE,
    example_shape=(1, 150),
    example_classes=2,
)
def resnet1d(in_shape: tuple[int, int], num_classes: int, filters: tuple[int, ...] = (64, 128, 128)) -> nn.Sequential:
    """ResNet for series: three residual blocks of three convolutions each, global average pooling, dense."""
    c, _ = in_shape
    chans = [c, *filters]
    return nn.Sequential(
        *(ResidualBlock1d(chans[i], chans[i + 1]) for i in range(len(filters))),  # (N, 128, T)
        GlobalAvgPool1d(),  # (N, 128)
        nn.Linear(filters[-1], num_classes),
    )


class InceptionTime(nn.Module):
    """Inception modules with a residual shortcut every third module, then global pooling."""

    def __init__(self, in_channels: int, num_classes: int, depth: int = 6, filters: int = 32):
        super().__init__()
        width = 4 * filters
        self.blocks = nn.ModuleList(InceptionModule1d(in_channels if i == 0 else width, filters) for i in range(depth))
        self.shortcuts = nn.ModuleList(
            nn.Sequential(nn.Conv1d(in_channels if i == 0 else width, width, 1, bias=False), nn.BatchNorm1d(width))
            for i in range(depth // 3)
        )
        self.pool = GlobalAvgPool1d()
        self.head = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x
        for i, block in enumerate(self.blocks):
            x = block(x)  # (N, 4*filters, T)
            if i % 3 == 2:
                x = torch.relu(x + self.shortcuts[i // 3](residual))
                residual = x
        return self.head(self.pool(x))  # (N, classes)


@register(
    "inception_time",
    kind="series",
    reference="Ismail Fawaz et al. 2020 InceptionTime (an ensemble of 5 such networks, 1,500 epochs): "
    "on par with or above ResNet on most UCR sets",
    recipe=Recipe(
        epochs=200, batch_size=32, optimizer="adamw", lr=1e-3, weight_decay=1e-4, schedule="cosine", monitor="loss"
    ),
    example_shape=(1, 150),
    example_classes=2,
)
def inception_time(in_shape: tuple[int, int], num_classes: int, depth: int = 6, filters: int = 32) -> InceptionTime:
    """InceptionTime (one network of the ensemble): six inception modules, residual every three."""
    return InceptionTime(in_shape[0], num_classes, depth=depth, filters=filters)


class RecurrentClassifier(nn.Module):
    """(N, C, T) -> time first -> recurrent layer(s) -> last output -> dense."""

    def __init__(self, cell: str, in_channels: int, num_classes: int, hidden: int, layers: int, bidirectional: bool):
        super().__init__()
        self.time_first = TimeFirst()
        self.rnn = Recurrent(
            cell,
            in_channels,
            hidden,
            num_layers=layers,
            bidirectional=bidirectional,
            dropout=0.1 if layers > 1 else 0.0,
        )
        self.head = nn.Linear(self.rnn.output_size, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.rnn(self.time_first(x)))  # (N, T, C) -> (N, D*hidden) -> (N, classes)


RNN_RECIPE = Recipe(
    epochs=150, batch_size=16, optimizer="adamw", lr=3e-3, weight_decay=1e-4, schedule="onecycle", monitor="loss"
)


@register(
    "lstm_classifier",
    kind="series",
    reference="Bidirectional LSTM over time steps: a baseline for FCN/ResNet; suits short multivariate series "
    "(JapaneseVowels) better than long univariate ones",
    recipe=RNN_RECIPE,
    example_shape=(12, 26),
    example_classes=9,
)
def lstm_classifier(
    in_shape: tuple[int, int], num_classes: int, hidden: int = 64, layers: int = 1, bidirectional: bool = True
) -> RecurrentClassifier:
    """(Bidirectional) LSTM reading one time step (all channels) at a time; dense on its last output."""
    return RecurrentClassifier("lstm", in_shape[0], num_classes, hidden, layers, bidirectional)


@register(
    "gru_classifier",
    kind="series",
    reference="Bidirectional GRU over time steps: the LSTM baseline with fewer parameters",
    recipe=RNN_RECIPE,
    example_shape=(12, 26),
    example_classes=9,
)
def gru_classifier(
    in_shape: tuple[int, int], num_classes: int, hidden: int = 64, layers: int = 1, bidirectional: bool = True
) -> RecurrentClassifier:
    """(Bidirectional) GRU reading one time step at a time; dense on its last output."""
    return RecurrentClassifier("gru", in_shape[0], num_classes, hidden, layers, bidirectional)


@register(
    "cnn1d",
    kind="series",
    reference="The lecture's convolution over time: with kernel_size k and L layers each output looks back "
    "L*(k-1)+1 steps (a causal CNN)",
    recipe=UCR_RECIPE,
    example_shape=(1, 150),
    example_classes=2,
)
def cnn1d(
    in_shape: tuple[int, int], num_classes: int, kernel_size: int = 8, filters: int = 64, layers: int = 3
) -> nn.Sequential:
    """Causal 1-D CNN: each layer's filter of ``kernel_size`` steps looks only back in time; global pooling, dense."""
    c, _ = in_shape
    blocks: list[nn.Module] = []
    for i in range(layers):
        blocks += [CausalConv1d(c if i == 0 else filters, filters, kernel_size), nn.BatchNorm1d(filters), nn.ReLU()]
    return nn.Sequential(*blocks, GlobalAvgPool1d(), nn.Linear(filters, num_classes))  # (N, filters, T) -> (N, classes)


class WindowForecaster(nn.Module):
    """Standardise each history window (its own mean and std), map it to the horizon with
    an MLP, undo the scaling: forecasts follow the level of the series however it trends.
    (N, 1, history) -> (N, horizon)."""

    def __init__(self, history: int, horizon: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(history, hidden), nn.ReLU(), nn.Linear(hidden, horizon))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=-1)  # (N, 1)
        std = x.std(dim=-1).clamp_min(1e-6)  # (N, 1)
        return self.net((x - mean[..., None]) / std[..., None]) * std + mean  # (N, horizon)


@register(
    "forecast_mlp",
    kind="series",
    task="regression",
    reference="Airline (last 24 months, one step ahead): MASE below the seasonal-naive forecast (1.67)",
    recipe=Recipe(
        epochs=300, batch_size=16, optimizer="adamw", lr=3e-3, weight_decay=1e-4, schedule="cosine", monitor="val_loss"
    ),
    example_shape=(1, 24),
    example_classes=1,
)
def forecast_mlp(in_shape: tuple[int, int], num_classes: int, hidden: int = 32) -> WindowForecaster:
    """Forecaster: each window standardised, an MLP to the horizon (``num_classes`` outputs), scale restored."""
    return WindowForecaster(in_shape[-1], num_classes, hidden)
