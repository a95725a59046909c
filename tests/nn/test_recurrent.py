"""Recurrent layers: shapes, Keras semantics, masking, SimpleRNN = the mechanics loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from deepscope.errors import InvalidArgumentError, UnknownNameError
from deepscope.nn import Recurrent, SimpleRNN, TimeDistributed, lengths_from_mask


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_recurrent_output_shapes(cell, bidirectional, return_sequences):
    layer = Recurrent(cell, 3, 5, num_layers=2, bidirectional=bidirectional, return_sequences=return_sequences)
    out = layer(torch.randn(4, 7, 3))
    d = 2 if bidirectional else 1
    assert out.shape == ((4, 7, 5 * d) if return_sequences else (4, 5 * d))
    assert layer.output_size == 5 * d


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_last_output_is_last_step_forward_and_first_step_backward(cell):
    x = torch.randn(2, 6, 3)
    seq = Recurrent(cell, 3, 4, bidirectional=True, return_sequences=True)
    last = Recurrent(cell, 3, 4, bidirectional=True)
    last.load_state_dict(seq.state_dict())
    out, final = seq(x), last(x)  # (2, 6, 8), (2, 8)
    torch.testing.assert_close(final[:, :4], out[:, -1, :4])  # forward direction: after the last step
    torch.testing.assert_close(final[:, 4:], out[:, 0, 4:])  # backward direction: after reading back to t=0


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("padding", ["post", "pre"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padded_steps_never_change_the_output(cell, padding, bidirectional):
    torch.manual_seed(1)
    lengths = [5, 2, 7]
    seqs = [torch.randn(n, 3) for n in lengths]
    layer = Recurrent(cell, 3, 4, num_layers=2, bidirectional=bidirectional, return_sequences=True, padding=padding)
    last = Recurrent(cell, 3, 4, num_layers=2, bidirectional=bidirectional, padding=padding)
    last.load_state_dict(layer.state_dict())
    padded = torch.full((3, 9, 3), 123.0)  # junk padding: it must not leak into any output
    for i, s in enumerate(seqs):
        if padding == "post":
            padded[i, : len(s)] = s
        else:
            padded[i, 9 - len(s) :] = s
    out = layer(padded, torch.tensor(lengths))  # (3, 9, D*4)
    final = last(padded, torch.tensor(lengths))
    for i, s in enumerate(seqs):
        alone = layer(s[None])[0]  # (n, D*4) unpadded
        real = out[i, : len(s)] if padding == "post" else out[i, 9 - len(s) :]
        pad = out[i, len(s) :] if padding == "post" else out[i, : 9 - len(s)]
        torch.testing.assert_close(real, alone)
        assert torch.all(pad == 0)
        torch.testing.assert_close(final[i], last(s[None])[0])


def test_mask_value_derives_lengths_like_keras_masking():
    x = torch.zeros(3, 5, 2)
    x[0, :3] = 1.0
    x[1, :5] = 2.0
    x[2, 1] = 3.0  # a zero step inside the sequence: length still runs to the last real step
    assert lengths_from_mask(x).tolist() == [3, 5, 2]
    assert lengths_from_mask(x.flip(1), padding="pre").tolist() == [3, 5, 2]
    layer = Recurrent("gru", 2, 3, mask_value=0.0)
    torch.testing.assert_close(layer(x[:1]), layer(x[:1, :3]))


def test_bad_lengths_and_names_fail_clearly():
    layer = Recurrent("lstm", 2, 3)
    with pytest.raises(InvalidArgumentError, match="`lengths` must be"):
        layer(torch.zeros(2, 4, 2), torch.tensor([0, 4]))
    with pytest.raises(UnknownNameError, match="Did you mean 'lstm'"):
        Recurrent("lstn", 2, 3)
    with pytest.raises(InvalidArgumentError, match="padding"):
        Recurrent("gru", 2, 3, padding="middle")
    with pytest.raises(InvalidArgumentError, match=r"x.shape"):
        layer(torch.zeros(2, 4))


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_simple_rnn_equals_the_mechanics_for_loop(activation):
    mechanics = pytest.importorskip("deepscope.mechanics")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 6, 4))
    W, U, b = rng.normal(size=(4, 5)) * 0.5, rng.normal(size=(5, 5)) * 0.3, rng.normal(size=5) * 0.1
    expected = mechanics.simple_rnn(x, W, U, b, activation=activation)  # (3, 6, 5)
    layer = SimpleRNN(4, 5, activation=activation, return_sequences=True).double()
    layer.set_weights(W, U, b)
    got = layer(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    last = SimpleRNN(4, 5, activation=activation).double()
    last.set_weights(W, U, b)
    np.testing.assert_allclose(last(torch.from_numpy(x)).detach().numpy(), expected[:, -1], rtol=1e-10, atol=1e-12)


def test_simple_rnn_rejects_wrong_weight_shapes():
    layer = SimpleRNN(4, 5)
    with pytest.raises(InvalidArgumentError, match=r"`W.shape` must be \(4, 5\)"):
        layer.set_weights(np.zeros((5, 4)), np.zeros((5, 5)), np.zeros(5))


def test_time_distributed_applies_the_module_to_every_step():
    dense = torch.nn.Linear(3, 2)
    x = torch.randn(4, 5, 3)
    out = TimeDistributed(dense)(x)
    assert out.shape == (4, 5, 2)
    torch.testing.assert_close(out[:, 3], dense(x[:, 3]))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_keras_init_gives_orthogonal_recurrent_weights_and_forget_bias_one(cell):
    layer = Recurrent(cell, 3, 4, init="keras")
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    for gate in layer.rnn.weight_hh_l0.split(4):  # (H, H) each
        torch.testing.assert_close(gate @ gate.T, torch.eye(4), atol=1e-5, rtol=0)
    expected_ih = torch.zeros(4 * gates)
    if cell == "lstm":
        expected_ih[4:8] = 1.0  # torch's gate order: input, forget, cell, output
    torch.testing.assert_close(layer.rnn.bias_ih_l0.detach(), expected_ih)
    assert layer.rnn.bias_hh_l0.abs().max() == 0
    limit = (6 / (3 + 4)) ** 0.5  # Glorot uniform per gate: fan_in 3, fan_out 4
    assert layer.rnn.weight_ih_l0.abs().max() <= limit


def test_unknown_init_names_the_valid_ones():
    with pytest.raises(ValueError, match="keras"):
        Recurrent("lstm", 2, 3, init="kera")


@pytest.mark.parametrize("bidirectional", [False, True])
def test_masked_lstm_states_equal_packing_the_real_steps(bidirectional):
    from torch.nn.utils.rnn import pack_sequence

    from deepscope.nn.recurrent import masked_lstm_states

    torch.manual_seed(0)
    lstm = nn.LSTM(3, 5, batch_first=True, bidirectional=bidirectional)
    x = torch.randn(4, 7, 3)
    real = torch.tensor(
        [
            [1, 1, 1, 1, 1, 1, 1],  # no padding
            [0, 0, 0, 1, 1, 1, 1],  # pre
            [1, 1, 0, 0, 0, 0, 0],  # post
            [0, 1, 0, 1, 1, 0, 1],  # scattered: the real steps in their order
        ],
        dtype=torch.bool,
    )
    _, (expected, _) = lstm(pack_sequence([x[i, real[i]] for i in range(4)], enforce_sorted=False))
    assert torch.allclose(masked_lstm_states(lstm, x, real), expected, atol=1e-6)
    with pytest.raises(InvalidArgumentError, match="one-layer batch_first"):
        masked_lstm_states(nn.LSTM(3, 5, num_layers=2, batch_first=True), x, real)
