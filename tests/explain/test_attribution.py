"""explain(): shapes, determinism, known answers and clear errors for every method and kind."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deepscope.errors import InvalidArgumentError, UnknownNameError
from deepscope.explain import METHODS, applicable_methods, explain, faithfulness
from deepscope.explain.attribution import PERTURBED_VALUES, perturbation_batch

FAST = {"n_samples": 64}  # LIME/SHAP perturbations, IG steps, smoothgrad draws: small for speed


def image_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 8, 3, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(8 * 8 * 8, 4),
    )


def series_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv1d(2, 6, 5, padding=2), nn.ReLU(), nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(6, 3)
    )


class TextCNN(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.embedding = nn.Embedding(40, 8)
        self.conv = nn.Conv1d(8, 6, 3, padding=1)
        self.head = nn.Linear(6, 2)

    def forward(self, ids):
        h = self.conv(self.embedding(ids).transpose(1, 2)).relu()  # (N, 6, L)
        return self.head(h.amax(dim=2))


CASES = {
    "image": (image_cnn, lambda: torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(1))),
    "series": (series_cnn, lambda: torch.randn(3, 2, 40, generator=torch.Generator().manual_seed(1))),
    "text": (
        TextCNN,
        lambda: torch.cat([torch.zeros(3, 4, dtype=torch.long), torch.randint(2, 40, (3, 12))], dim=1),
    ),
}


@pytest.mark.parametrize("kind", list(CASES))
@pytest.mark.parametrize("method", METHODS)
def test_every_method_gives_values_shaped_like_the_inputs_and_is_deterministic(kind, method):
    make_model, make_inputs = CASES[kind]
    model, x = make_model(), make_inputs()
    if method not in applicable_methods(model, kind):
        assert kind == "text" and method == "smoothgrad"
        return
    a = explain(model, x, method=method, seed=3, **FAST)
    assert a.kind == kind and a.method == method
    assert a.values.shape == x.shape
    assert torch.isfinite(a.values).all() and a.values.abs().sum() > 0
    assert a.probabilities.shape == (3, {"image": 4, "series": 3, "text": 2}[kind])
    assert torch.equal(a.target, a.probabilities.argmax(1))  # None explains the predicted class
    again = explain(model, x, method=method, seed=3, **FAST)
    assert torch.equal(a.values, again.values)
    if kind == "text":  # padding never gets attribution
        assert (a.values[:, :4] == 0).all()


@pytest.mark.parametrize("method", ["lime", "shap", "smoothgrad"])
def test_the_seed_decides_the_random_methods(method):
    model, x = image_cnn(), CASES["image"][1]()
    a = explain(model, x[:1], method=method, seed=0, **FAST)
    b = explain(model, x[:1], method=method, seed=1, **FAST)
    assert not torch.equal(a.values, b.values)


@pytest.mark.parametrize("method", ["lime", "shap", "occlusion"])
@pytest.mark.parametrize("kind", list(CASES))
def test_how_perturbations_are_batched_does_not_change_the_values(kind, method):
    make_model, make_inputs = CASES[kind]
    model, x = make_model(), make_inputs()
    one = explain(model, x, method=method, seed=2, batch_size=1, **FAST)
    many = explain(model, x, method=method, seed=2, batch_size=256, **FAST)
    torch.testing.assert_close(one.values, many.values, rtol=1e-4, atol=1e-5)


def test_perturbation_batches_are_capped_by_input_size():
    assert perturbation_batch(256, torch.zeros(1, 28, 28)) == 256
    assert perturbation_batch(256, torch.zeros(3, 224, 224)) == PERTURBED_VALUES // (3 * 224 * 224) == 13
    assert perturbation_batch(4, torch.zeros(3, 224, 224)) == 4
    assert perturbation_batch(256, torch.zeros(3, 4096, 4096)) == 1


def test_global_rng_and_training_mode_are_left_as_they_were():
    model, x = image_cnn(), CASES["image"][1]()
    model.train()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    explain(model, x, method="smoothgrad", **FAST)
    assert torch.equal(torch.rand(3), expected)
    assert model.training


def test_integrated_gradients_of_a_linear_model_is_input_times_weight():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(2 * 5 * 5, 3))
    x = torch.rand(4, 2, 5, 5)
    a = explain(model, x, target=1, method="integrated_gradients")
    expected = x * model[1].weight[1].reshape(2, 5, 5)
    torch.testing.assert_close(a.values, expected, atol=1e-5, rtol=1e-4)
    assert a.target.tolist() == [1, 1, 1, 1]


class LooksAtOneCorner(nn.Module):
    """Class 1's score is the brightest pixel of the top-left 4x4 patch; the rest is ignored.
    (Not the patch's mean: LIME fills a switched-off superpixel with its mean, which would leave
    a mean unchanged.)"""

    def forward(self, x):
        s = x[:, :, :4, :4].amax(dim=(1, 2, 3))
        return torch.stack([torch.zeros_like(s), 5 * s], dim=1)


@pytest.mark.parametrize("method", ["occlusion", "saliency", "lime", "shap"])
def test_a_model_that_reads_one_region_gets_its_attribution_there(method):
    x = torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(0)) * 0.5 + 0.5
    options = {"n_segments": 16} if method in ("lime", "shap") else {"window": 1} if method == "occlusion" else {}
    a = explain(LooksAtOneCorner(), x, target=1, method=method, **options)
    heat = a.heatmap().abs()  # (N, H, W)
    inside = heat[:, :4, :4].sum(dim=(1, 2))
    assert (inside / heat.sum(dim=(1, 2)) > 0.9).all()
    if method == "occlusion":  # the default window (3) smears by at most window - 1 pixels
        heat = explain(LooksAtOneCorner(), x, target=1, method=method).heatmap()
        assert heat[:, 6:, :].abs().sum() == 0 and heat[:, :, 6:].abs().sum() == 0


def test_gradcam_defaults_to_the_last_convolution_and_takes_a_named_layer():
    model, x = image_cnn(), CASES["image"][1]()
    assert explain(model, x, method="gradcam").layer == "3"
    assert explain(model, x, method="gradcam", layer="0").layer == "0"
    with pytest.raises(InvalidArgumentError, match="Conv2d/Conv1d layer"):
        explain(model, x, method="gradcam", layer="6")
    with pytest.raises(UnknownNameError, match="layer"):
        explain(model, x, method="gradcam", layer="9")


def test_lime_and_shap_take_your_own_features_like_lime_segmentation_fn():
    model, x = image_cnn(), CASES["image"][1]()
    halves = torch.zeros(16, 16, dtype=torch.long)
    halves[:, 8:] = 1  # two features: the left and the right half, in every channel
    for method in ("lime", "shap"):
        a = explain(model, x[:2], method=method, features=halves, **FAST)
        assert torch.equal(a.features, halves.expand(2, 3, 16, 16))
        for i in range(2):  # one value per feature
            assert a.values[i][:, :, :8].unique().numel() == 1 and a.values[i][:, :, 8:].unique().numel() == 1


def test_lime_reports_the_surrogate_fit_and_the_features_it_used():
    model, x = image_cnn(), CASES["image"][1]()
    a = explain(model, x[:2], method="lime", n_samples=200, n_segments=12)
    assert a.fit.shape == (2,) and (a.fit <= 1).all()
    assert a.features.shape == (2, 3, 16, 16) and a.features.min() == 0
    # one value per superpixel: elements of one feature share it
    for f in a.features[0, 0].unique():
        assert a.values[0, 0][a.features[0, 0] == f].unique().numel() == 1


def test_deletion_curve_falls_and_insertion_rises_for_a_faithful_map():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    with torch.no_grad():
        model[1].weight.copy_(torch.stack([torch.zeros(16), torch.linspace(0.1, 2, 16)]))
        model[1].bias.zero_()
    x = torch.rand(5, 1, 4, 4) + 0.1  # every element adds evidence for class 1
    a = explain(model, x, target=1, method="integrated_gradients")
    f = faithfulness(model, a, steps=16)
    assert (f.deletion.diff(dim=1) <= 1e-6).all()  # monotone: each removal lowers p(class 1)
    assert (f.insertion.diff(dim=1) >= -1e-6).all()
    random = a.__class__(**{**a.__dict__, "values": torch.rand(a.values.shape)})
    g = faithfulness(model, random, steps=16)
    assert (f.deletion_area < g.deletion_area).all() and (f.insertion_area > g.insertion_area).all()
    assert f.summary()["deletion_area"] < f.summary()["insertion_area"]


def test_text_gradients_need_an_embedding_and_smoothgrad_needs_continuous_inputs():
    bag = nn.Sequential(nn.EmbeddingBag(30, 4), nn.Linear(4, 2))
    x = torch.randint(1, 30, (2, 6))
    assert applicable_methods(bag, "text") == ["occlusion", "lime", "shap"]
    with pytest.raises(InvalidArgumentError, match=r"EmbeddingBag.*Received: method='saliency'"):
        explain(bag, x, method="saliency")
    with pytest.raises(InvalidArgumentError, match="token ids cannot take"):
        explain(TextCNN(), CASES["text"][1](), method="smoothgrad")
    assert explain(bag, x, method="occlusion").values.shape == (2, 6)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "gradcm"}, r"Unknown method 'gradcm'.*gradcam"),
        ({"target": 7}, r"`target` must be None, a class index in 0\.\.3"),
        ({"target": [0, 1]}, r"one per input \(3\)"),
        ({"seed": -1}, r"`seed` must be an int >= 0"),
        ({"n_samples": 0}, r"`n_samples` must be an int between 1"),
        ({"method": "occlusion", "window": 99}, r"`window` must be an int between 1 and 16"),
        ({"method": "lime", "n_segments": 1}, r"`n_segments` must be an int between 2"),
        ({"method": "lime", "segmentation": "watershed"}, r"`segmentation` must be one of slic, quickshift, grid"),
        ({"method": "gradcam", "features": torch.zeros(16, 16, dtype=torch.long)}, r"only lime and shap"),
        ({"method": "lime", "features": torch.zeros(16, 16)}, r"`features` must be an integer tensor"),
        ({"method": "lime", "features": torch.zeros(5, 5, dtype=torch.long)}, r"shaped \(3, 16, 16\) or"),
        ({"method": "shap", "features": torch.full((16, 16), -2)}, r"ids >= -1"),
    ],
)
def test_bad_arguments_get_the_standard_message(kwargs, message):
    with pytest.raises((InvalidArgumentError, UnknownNameError), match=message):
        explain(image_cnn(), CASES["image"][1](), **kwargs)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (torch.rand(3, 16, 16).numpy(), r"`inputs` must be a torch.Tensor batch"),
        (torch.rand(0, 3, 16, 16), r"a non-empty batch"),
        (torch.full((1, 3, 16, 16), float("nan")), r"finite values"),
        (torch.rand(2, 3, 4, 16, 16), r"a float batch of images \(N, C, H, W\) or series"),
        (torch.tensor([[1, -2, 3]]), r"token ids >= 0"),
    ],
)
def test_bad_inputs_are_refused_at_the_boundary(inputs, message):
    with pytest.raises(InvalidArgumentError, match=message):
        explain(image_cnn(), inputs)


def test_a_model_that_is_not_a_classifier_is_refused():
    with pytest.raises(InvalidArgumentError, match="a classifier with outputs"):
        explain(nn.Conv2d(3, 2, 3), torch.rand(1, 3, 8, 8), method="saliency")


def test_gradcam_on_a_dense_model_names_the_methods_that_apply():
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(3 * 16 * 16, 4))
    with pytest.raises(InvalidArgumentError, match=r"one of saliency, integrated_gradients.*needs a Conv2d"):
        explain(mlp, CASES["image"][1](), method="gradcam")
