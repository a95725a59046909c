"""ConvLSTM (Shi et al. 2015): an LSTM whose gates are convolutions, for videos.

torch has no ConvLSTM, and the cell is the lesson: it is an LSTM cell in which every
matrix product becomes a convolution, so the state is a stack of feature maps and memory
is kept per pixel neighbourhood.
"""

from __future__ import annotations

import torch
from torch import nn

from deepscope.errors import invalid

__all__ = ["ConvLSTM", "ConvLSTMCell"]


class ConvLSTMCell(nn.Module):
    """One step: (x (N, C_in, H, W), (h, c) each (N, C_h, H, W)) -> (h, c).

    i, f, o = sigmoid(conv([x, h])), g = tanh(conv([x, h])); c = f*c + i*g; h = o*tanh(c).
    One convolution computes all four gates at once ('same' padding keeps H, W).
    """

    def __init__(self, in_channels: int, hidden_channels: int, kernel_size: int = 3):
        super().__init__()
        if not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
            raise invalid("kernel_size", "an odd positive int", kernel_size)
        self.hidden_channels = hidden_channels
        self.gates = nn.Conv2d(in_channels + hidden_channels, 4 * hidden_channels, kernel_size, padding="same")
        with torch.no_grad():  # forget-gate bias 1 (Jozefowicz et al. 2015): remember by default
            self.gates.bias[hidden_channels : 2 * hidden_channels].fill_(1.0)

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        h, c = state
        z = self.gates(torch.cat([x, h], dim=1))  # (N, 4*C_h, H, W)
        i, f, g, o = z.chunk(4, dim=1)  # each (N, C_h, H, W)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c


class ConvLSTM(nn.Module):
    """A ConvLSTM layer over a video x (N, T, C_in, H, W): returns every step's hidden maps
    (N, T, C_h, H, W), or with ``return_sequences=False`` the last one (N, C_h, H, W)."""

    def __init__(self, in_channels: int, hidden_channels: int, kernel_size: int = 3, *, return_sequences: bool = True):
        super().__init__()
        self.cell = ConvLSTMCell(in_channels, hidden_channels, kernel_size)
        self.return_sequences = return_sequences

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 5:
            raise invalid("x.shape", "(N, T, C, H, W)", tuple(x.shape))
        n, t, _, height, width = x.shape
        h = x.new_zeros(n, self.cell.hidden_channels, height, width)  # (N, C_h, H, W)
        c = torch.zeros_like(h)
        outputs = []
        for step in range(t):  # the recurrence: each step needs the previous state
            h, c = self.cell(x[:, step], (h, c))
            outputs.append(h)
        return torch.stack(outputs, dim=1) if self.return_sequences else h  # (N, T, C_h, H, W)
