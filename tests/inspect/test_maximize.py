from __future__ import annotations

import numpy as np
import pytest
import torch

from deepscope import zoo
from deepscope.errors import InvalidArgumentError
from deepscope.inspect import data_max, layer_outputs, maximize_activation, maximize_channels
from deepscope.mechanics import receptive_field


def test_gradient_ascent_increases_the_channel_activation(tiny_cnn):
    result = maximize_activation(tiny_cnn, "3", 2, in_shape=(1, 12, 12), steps=40)
    assert result.activation > result.start_activation + 0.1
    assert result.input.shape == (1, 12, 12)
    assert result.input.min() >= 0.0 and result.input.max() <= 1.0
    assert result.history.shape == (40,)
    with torch.no_grad():  # the reported activation is the centre unit's, recomputed here
        out = layer_outputs(tiny_cnn, ["3"], torch.from_numpy(result.input)[None])["3"]  # (1, 6, 2, 2)
    assert float(out[0, 2, 1, 1]) == pytest.approx(result.activation, abs=1e-5)
    # the centre unit (1, 1) of layer 3 sees an 8x8 field: offset -1 + 1 * jump 4 = 3 .. 11
    assert result.box == (3, 3, 11, 11)
    assert result.box == receptive_field(tiny_cnn, "3").bounds(1, 1, (12, 12))  # one box order


def test_batched_channels_equal_one_at_a_time(tiny_cnn):
    together = maximize_channels(tiny_cnn, "0", [1, 3], in_shape=(1, 12, 12), steps=15)
    alone = maximize_activation(tiny_cnn, "0", 3, in_shape=(1, 12, 12), steps=15)
    assert [r.channel for r in together] == [1, 3]
    assert together[1].activation != pytest.approx(together[0].activation)
    # same seed and start noise per position in the batch differ, so compare reached values loosely
    assert together[1].activation == pytest.approx(alone.activation, rel=0.1)


def test_mean_objective_and_regularisers_run_and_leave_the_model_unchanged(tiny_cnn):
    before = {k: v.clone() for k, v in tiny_cnn.state_dict().items()}
    tiny_cnn.train()
    result = maximize_activation(
        tiny_cnn, "3", 0, in_shape=(1, 12, 12), steps=20, objective="mean", jitter=2, blur=0.8, l2=0.01
    )
    assert result.activation > result.start_activation
    assert tiny_cnn.training and all(p.requires_grad for p in tiny_cnn.parameters())
    assert all(torch.equal(before[k], v) for k, v in tiny_cnn.state_dict().items())


def test_data_max_is_the_channels_strongest_response(tiny_cnn, images):
    with torch.no_grad():
        out = tiny_cnn[0](images)  # (40, 4, 12, 12)
    np.testing.assert_allclose(
        data_max(tiny_cnn, "0", images, batch_size=9), out.amax(dim=(0, 2, 3)).numpy(), rtol=1e-6
    )
    np.testing.assert_allclose(
        data_max(tiny_cnn, "0", images, objective="mean"), out.mean(dim=(2, 3)).amax(dim=0).numpy(), rtol=1e-5
    )


def test_maximised_inputs_beat_the_data_on_a_first_layer(tiny_cnn, images):
    """A 3x3 first-layer unit is maximised by a box-constrained input (1 where the weight is
    positive, 0 where negative); ascent finds it, random images do not reach it."""
    results = maximize_channels(tiny_cnn, "0", steps=60, inputs=images)  # in_shape from the inputs
    assert all(r.data_max is not None for r in results)
    assert all(r.exceeds_data for r in results)
    weight, bias = tiny_cnn[0].weight.detach(), tiny_cnn[0].bias.detach()
    best = weight.clamp_min(0).sum(dim=(1, 2, 3)) + bias  # (4,) the exact optimum over [0, 1] inputs
    reached = torch.tensor([r.activation for r in results])
    assert torch.all(reached <= best + 1e-5)
    assert torch.all(reached >= 0.95 * best)


def test_zoo_models_supply_their_input_shape():
    model = zoo.create("lecture_cnn", in_shape=(1, 8, 8), seed=0)
    result = maximize_activation(model, "0", 0, steps=5)
    assert result.input.shape == (1, 8, 8)


def test_bad_arguments_fail_clearly(tiny_cnn):
    with pytest.raises(InvalidArgumentError, match=r"`in_shape` must be the input shape \(C, H, W\)"):
        maximize_activation(tiny_cnn, "0", 0)
    with pytest.raises(InvalidArgumentError, match=r"`channels` must be channel indices in \[0, 3\] for layer '0'"):
        maximize_activation(tiny_cnn, "0", 4, in_shape=(1, 12, 12))
    with pytest.raises(InvalidArgumentError, match="`objective` must be one of"):
        maximize_activation(tiny_cnn, "0", 0, in_shape=(1, 12, 12), objective="max")
