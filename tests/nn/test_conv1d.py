"""1-D conv helpers: causal convolution looks back exactly kernel_size steps."""

from __future__ import annotations

import torch

from deepscope.nn import CausalConv1d, ConvBlock1d, ConvLSTM, GlobalAvgPool1d, TimeFirst


def test_causal_conv_keeps_length_and_never_sees_the_future():
    conv = CausalConv1d(2, 3, kernel_size=4, dilation=2)
    x = torch.randn(1, 2, 20)
    out = conv(x)
    assert out.shape == (1, 3, 20)
    assert conv.receptive_field == 7
    changed = x.clone()
    changed[..., 10] += 5.0  # a change at step 10 affects steps 10..16 only
    diff = (conv(changed) - out).abs().sum(dim=(0, 1))
    assert torch.all(diff[:10] == 0)
    assert torch.all(diff[10:17:2] > 0)  # dilation 2: taps at 10, 12, 14, 16
    assert torch.all(diff[17:] == 0)


def test_conv_block_pool_and_time_first_shapes():
    x = torch.randn(4, 3, 17)
    h = ConvBlock1d(3, 8, 5)(x)  # 'same' padding
    assert h.shape == (4, 8, 17) and torch.all(h >= 0)
    torch.testing.assert_close(GlobalAvgPool1d()(h), h.mean(-1))
    assert TimeFirst()(x).shape == (4, 17, 3)


def test_conv_lstm_shapes_and_causality():
    layer = ConvLSTM(1, 4, 3)
    x = torch.randn(2, 5, 1, 8, 8)
    out = layer(x)
    assert out.shape == (2, 5, 4, 8, 8)
    changed = x.clone()
    changed[:, 3] += 1.0
    torch.testing.assert_close(layer(changed)[:, :3], out[:, :3])  # the past does not see the future
    assert not torch.allclose(layer(changed)[:, 3], out[:, 3])
    last = ConvLSTM(1, 4, 3, return_sequences=False)
    last.load_state_dict(layer.state_dict())
    torch.testing.assert_close(last(x), out[:, -1])


def test_summary_lists_a_cell_called_at_every_step_once():
    from deepscope.nn import summary

    model = torch.nn.Sequential(ConvLSTM(1, 4, 3))
    rows = summary(model, (5, 1, 6, 6)).rows
    assert [r.name for r in rows] == ["0.cell.gates"]
    assert rows[0].params == sum(p.numel() for p in model.parameters())
