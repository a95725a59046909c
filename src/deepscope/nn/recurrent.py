"""Recurrent layers with Keras' behaviour: ``return_sequences``, bidirectional, stacked, masked.

torch.nn.RNN/LSTM/GRU do the arithmetic (and their fused kernels are fast); this module adds
what a Keras user expects around them: batch-first (N, T, D) inputs, one output (the last
step) or all steps, and variable-length input through packing, so padded steps never change
the result. ``SimpleRNN`` is the lecture's "dense layer in a for loop": its numbers equal
``deepscope.mechanics.simple_rnn`` given the same weights.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from deepscope.errors import UnknownNameError, invalid

__all__ = [
    "CELLS",
    "Recurrent",
    "SimpleRNN",
    "TimeDistributed",
    "is_exporting",
    "keras_init_",
    "lengths_from_mask",
    "masked_lstm_states",
]

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
PADDINGS = ("post", "pre")
INITS = ("torch", "keras")


@torch.no_grad()
def keras_init_(rnn: nn.RNNBase) -> nn.RNNBase:
    """Re-initialise a torch RNN/LSTM/GRU in place as Keras does: Glorot-uniform input
    weights and orthogonal recurrent weights (per gate), zero biases, and LSTM forget-gate
    biases of 1 (``unit_forget_bias``), so the cell remembers by default. On long inputs
    (e.g. 28 pixels a row) this trains far faster than torch's uniform(±1/sqrt(H)) default."""
    h = rnn.hidden_size
    for name, p in rnn.named_parameters():
        if name.startswith("weight_ih"):
            for gate in p.split(h):  # (H, in) per gate; torch stacks the gates along dim 0
                nn.init.xavier_uniform_(gate)
        elif name.startswith("weight_hh"):
            for gate in p.split(h):
                nn.init.orthogonal_(gate)
        else:
            p.zero_()
            if isinstance(rnn, nn.LSTM) and name.startswith("bias_ih"):
                p[h : 2 * h] = 1.0  # torch's gate order is input, forget, cell, output
    return rnn


def lengths_from_mask(x: torch.Tensor, mask_value: float = 0.0, padding: str = "post") -> torch.Tensor:
    """True lengths (N,) of padded sequences x (N, T, D), as Keras' ``Masking(mask_value)``: a
    step is padding when all its features equal ``mask_value``. With ``padding='post'`` the
    length runs to the last real step; with 'pre' it starts at the first real step."""
    real = (x != mask_value).any(dim=-1)  # (N, T)
    steps = torch.arange(1, x.shape[1] + 1, device=x.device)  # (T,)
    if padding == "post":
        return (real * steps).amax(dim=1)  # index of the last real step + 1
    first = torch.where(real, steps - 1, x.shape[1]).amin(dim=1)  # first real step (T if none)
    return x.shape[1] - first


def is_exporting() -> bool:
    """Whether the module runs under an exporter (torch.export / ONNX, TorchScript tracing),
    where packed sequences cannot be expressed: layers then take their unrolled path."""
    return torch.compiler.is_exporting() or torch.onnx.is_in_onnx_export() or torch.jit.is_tracing()


def masked_lstm_states(lstm: nn.LSTM, x: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """The final hidden state of each direction of a one-layer batch-first ``lstm`` run over
    the real steps only of x (N, T, E), ``real`` (N, T) bool marking them: (directions, N, H).

    The same numbers as packing the real steps (``pack_padded_sequence``), written as a loop
    over the T steps in which a padded step leaves the state as it was -- the form exporters
    (ONNX, TorchScript) can express, since packed sequences have data-dependent shapes."""
    if lstm.num_layers != 1 or not lstm.batch_first or lstm.proj_size:
        raise invalid("lstm", "a one-layer batch_first nn.LSTM without projections", lstm)
    n, t, _ = x.shape
    h_size = lstm.hidden_size
    finals = []
    for suffix, steps in (("", range(t)), ("_reverse", range(t - 1, -1, -1))):
        if suffix and not lstm.bidirectional:
            break
        w_ih, w_hh = getattr(lstm, f"weight_ih_l0{suffix}"), getattr(lstm, f"weight_hh_l0{suffix}")
        b_ih, b_hh = getattr(lstm, f"bias_ih_l0{suffix}", None), getattr(lstm, f"bias_hh_l0{suffix}", None)
        inputs = nn.functional.linear(x, w_ih, b_ih)  # (N, T, 4H): every step's input term at once
        h = x.new_zeros(n, h_size)
        c = x.new_zeros(n, h_size)
        for step in steps:
            gates = inputs[:, step] + nn.functional.linear(h, w_hh, b_hh)  # (N, 4H): input, forget, cell, output
            i, f, g, o = gates.chunk(4, dim=1)
            c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h_new = torch.sigmoid(o) * torch.tanh(c_new)
            keep = real[:, step, None]  # (N, 1)
            h, c = torch.where(keep, h_new, h), torch.where(keep, c_new, c)
        finals.append(h)
    return torch.stack(finals)  # (directions, N, H)


def _roll_rows(x: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """Roll each sequence of x (N, T, D) left by its own shift (N,): row n becomes
    x[n, (t + shifts[n]) % T]. Used to move pre-padding behind the real steps."""
    n, t = x.shape[:2]
    index = (torch.arange(t, device=x.device)[None] + shifts[:, None]) % t  # (N, T)
    return x.gather(1, index[..., None].expand(n, t, x.shape[2]))


class Recurrent(nn.Module):
    """A (stacked, optionally bidirectional) RNN, LSTM or GRU over batch-first input.

    ``forward(x, lengths=None)`` takes x (N, T, input_size) and returns the last step's output
    (N, D*hidden_size) or, with ``return_sequences``, every step's (N, T, D*hidden_size), where
    D is 2 when ``bidirectional`` (forward and backward outputs concatenated, as Keras'
    ``Bidirectional(merge_mode='concat')``). The last step of the backward direction is its
    state after reading the whole sequence backwards, i.e. at t = 0, as in Keras.

    Variable-length input: pass ``lengths`` (N,), or set ``mask_value`` to derive them from x
    like Keras' ``Masking``. Sequences are packed (``pack_padded_sequence``), so padded steps
    are never read: the outputs equal those of the unpadded sequences, and padded positions
    of ``return_sequences`` outputs are zeros. ``padding`` says where the padding sits:
    'post' (after the real steps) or 'pre' (before them, Keras' ``pad_sequences`` default).

    ``init``: 'torch' keeps torch's default initialisation; 'keras' applies ``keras_init_``
    (orthogonal recurrent weights, forget-gate bias 1), which learns long sequences faster.
    """

    def __init__(
        self,
        cell: str,
        input_size: int,
        hidden_size: int,
        *,
        num_layers: int = 1,
        bidirectional: bool = False,
        return_sequences: bool = False,
        dropout: float = 0.0,
        nonlinearity: str = "tanh",
        mask_value: float | None = None,
        padding: str = "post",
        init: str = "torch",
    ):
        super().__init__()
        if cell not in CELLS:
            raise UnknownNameError("recurrent cell", cell, CELLS)
        if padding not in PADDINGS:
            raise invalid("padding", "'post' or 'pre'", padding)
        if init not in INITS:
            raise UnknownNameError("init", init, INITS)
        if not isinstance(hidden_size, int) or hidden_size < 1:
            raise invalid("hidden_size", "a positive int", hidden_size)
        extra = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
        if cell == "rnn" and nonlinearity not in ("tanh", "relu"):
            raise invalid("nonlinearity", "'tanh' or 'relu'", nonlinearity)
        self.cell, self.return_sequences = cell, return_sequences
        self.mask_value, self.padding = mask_value, padding
        self.directions = 2 if bidirectional else 1
        self.hidden_size = hidden_size
        self.rnn = CELLS[cell](
            input_size,
            hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,
            batch_first=True,
            **extra,
        )
        if init == "keras":
            keras_init_(self.rnn)

    @property
    def output_size(self) -> int:
        return self.directions * self.hidden_size

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if x.ndim != 3:
            raise invalid("x.shape", "(N, T, features)", tuple(x.shape))
        if lengths is None and self.mask_value is not None:
            lengths = lengths_from_mask(x, self.mask_value, self.padding)
        if lengths is None:
            out, state = self.rnn(x)  # out (N, T, D*H)
            return out if self.return_sequences else self._last(state)
        n, t = x.shape[:2]
        lengths = torch.as_tensor(lengths).to(device="cpu", dtype=torch.long)
        if lengths.shape != (n,) or int(lengths.min()) < 1 or int(lengths.max()) > t:
            raise invalid("lengths", f"a tensor of {n} lengths in [1, {t}]", lengths.tolist())
        if self.padding == "pre":
            x = _roll_rows(x, (t - lengths).to(x.device))  # real steps first: (N, T, F)
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, state = self.rnn(packed)
        if not self.return_sequences:
            return self._last(state)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=t)  # (N, T, D*H), zeros after the end
        if self.padding == "pre":
            out = _roll_rows(out, lengths.to(out.device))  # back behind the padding
        return out

    def _last(self, state: torch.Tensor | tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        h = state[0] if isinstance(state, tuple) else state  # (layers*D, N, H); LSTM also returns c
        last_layer = h[-self.directions :]  # (D, N, H): forward final, backward final
        return last_layer.transpose(0, 1).reshape(h.shape[1], -1)  # (N, D*H)


class SimpleRNN(Recurrent):
    """Keras' SimpleRNN: ``state = activation(x_t·W + state·U + b)`` over x (N, T, input_size).

    ``set_weights(W, U, b)`` takes Keras' layout, W (input_size, units), U (units, units),
    b (units,), the same arrays ``deepscope.mechanics.simple_rnn`` takes.
    """

    def __init__(
        self,
        input_size: int,
        units: int,
        *,
        activation: str = "tanh",
        return_sequences: bool = False,
        mask_value: float | None = None,
        padding: str = "post",
    ):
        if activation not in ("tanh", "relu"):
            raise invalid("activation", "'tanh' or 'relu'", activation)
        super().__init__(
            "rnn",
            input_size,
            units,
            nonlinearity=activation,
            return_sequences=return_sequences,
            mask_value=mask_value,
            padding=padding,
        )

    @torch.no_grad()
    def set_weights(self, W: torch.Tensor, U: torch.Tensor, b: torch.Tensor) -> None:
        """Load Keras-layout weights: torch computes x·W_ih^T + b_ih + h·W_hh^T + b_hh, so
        W_ih = W^T, W_hh = U^T, b_ih = b and b_hh = 0."""
        rnn = self.rnn
        W, U, b = (torch.as_tensor(a, dtype=rnn.weight_ih_l0.dtype) for a in (W, U, b))
        expected = {"W": (rnn.input_size, rnn.hidden_size), "U": (rnn.hidden_size,) * 2, "b": (rnn.hidden_size,)}
        for name, value in (("W", W), ("U", U), ("b", b)):
            if tuple(value.shape) != expected[name]:
                raise invalid(f"{name}.shape", str(expected[name]), tuple(value.shape))
        rnn.weight_ih_l0.copy_(W.T)
        rnn.weight_hh_l0.copy_(U.T)
        rnn.bias_ih_l0.copy_(b)
        rnn.bias_hh_l0.zero_()


class TimeDistributed(nn.Module):
    """Apply ``module`` to every time step: x (N, T, *rest) -> (N, T, *module_out), by
    folding time into the batch (one call, no Python loop), as Keras' TimeDistributed."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t = x.shape[:2]
        y = self.module(x.reshape(n * t, *x.shape[2:]))  # (N*T, *out)
        return y.reshape(n, t, *y.shape[1:])
