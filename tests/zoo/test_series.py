"""Time-series zoo entries: build, forward on the declared shape, behaviour that defines them."""

from __future__ import annotations

import pytest
import torch

from deepscope import zoo

SERIES = ["fcn", "resnet1d", "inception_time", "lstm_classifier", "gru_classifier", "cnn1d", "forecast_mlp"]


@pytest.mark.parametrize("name", SERIES)
def test_series_entry_builds_and_runs_on_its_example_shape(name):
    meta = zoo.info(name)
    assert meta.kind == "series"
    model = zoo.create(name, in_shape=meta.example_shape, num_classes=meta.example_classes, seed=0)
    out = model(torch.randn(3, *meta.example_shape))
    assert out.shape == (3, meta.example_classes)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", ["fcn", "resnet1d", "inception_time", "cnn1d", "lstm_classifier"])
def test_classifiers_take_any_series_length_and_channel_count(name):
    model = zoo.create(name, in_shape=(3, 40), num_classes=4, seed=0).eval()
    assert model(torch.randn(2, 3, 40)).shape == (2, 4)


def test_cnn1d_looks_back_exactly_its_receptive_field():
    model = zoo.create("cnn1d", in_shape=(1, 30), num_classes=2, kernel_size=4, layers=2, seed=0).eval()
    trunk = model[:-2]  # up to the pooling: (N, filters, T)
    x = torch.randn(1, 1, 30)
    changed = x.clone()
    changed[..., 10] += 3.0
    diff = (trunk(changed) - trunk(x)).abs().sum(dim=(0, 1))  # (T,)
    assert torch.all(diff[:10] == 0) and diff[10] > 0 and diff[16] > 0  # 2 layers * (4-1) + 1 = 7 steps
    assert torch.all(diff[17:] == 0)


def test_forecaster_follows_the_level_and_scale_of_the_series():
    model = zoo.create("forecast_mlp", in_shape=(1, 24), num_classes=3, seed=0).eval()
    x = torch.randn(4, 1, 24)
    with torch.no_grad():
        torch.testing.assert_close(model(10 * x + 500), 10 * model(x) + 500, rtol=1e-4, atol=1e-3)


def test_forecast_entry_gets_one_output_per_horizon_step_from_the_data():
    pytest.importorskip("pandas")
    from deepscope.data import load

    data = load("series:Airline?horizon=6&history=24")
    model = zoo.create("forecast_mlp", data=data, seed=0)
    assert model(data.train.tensors[0][:2]).shape == (2, 6)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name,set_name,target,epochs,seeds",
    [
        # Targets measured here (benchmarks/ucr_table.py), a little below the published figures,
        # which took 1,500-2,000 epochs (Fawaz et al. 2019): resnet1d GunPoint 99.1%, fcn
        # ItalyPowerDemand 96.1%; BasicMotions has no published FCN figure in the zoo reference.
        # resnet1d on GunPoint varies by seed (the README's three-seed row: 98.67% ± 1.15; seed 0
        # alone has scored 0.993, and 0.98 after later changes), so its target is the mean of
        # three seeds, as that row reports it.
        ("resnet1d", "GunPoint", 0.98, 300, (0, 1, 2)),
        ("fcn", "ItalyPowerDemand", 0.953, 100, (0,)),
        ("fcn", "BasicMotions", 0.97, 100, (0,)),
    ],
)
def test_ucr_model_reaches_its_target_accuracy(tmp_path, name, set_name, target, epochs, seeds):
    pytest.importorskip("aeon")
    from deepscope import runs
    from deepscope.data import load

    data = load(f"ucr:{set_name}", val_fraction=0.0)
    scores = []
    for seed in seeds:
        model = zoo.create(name, data=data, seed=seed)
        run = runs.fit(model, data, out=tmp_path / f"run-{seed}", progress=False, epochs=epochs, seed=seed)
        scores.append(run.evaluate("test").accuracy)
    assert sum(scores) / len(scores) >= target, scores


@pytest.mark.slow
def test_forecast_mlp_beats_seasonal_naive_on_the_last_24_airline_months(tmp_path):
    pytest.importorskip("pandas")
    from deepscope import runs
    from deepscope.data import load
    from deepscope.data.forecast import seasonal_naive
    from deepscope.train.tasks import forecast_scores

    data = load("series:Airline")
    run = runs.fit(zoo.create("forecast_mlp", data=data, seed=0), data, out=tmp_path / "run", progress=False)
    x, y = data.test.tensors
    with torch.no_grad():
        model = forecast_scores(y, run.model.eval()(x), scale=data.info["mase_scale"])
    naive = forecast_scores(y, seasonal_naive(x, 12, 1), scale=data.info["mase_scale"])
    assert naive["mase"] == pytest.approx(1.67, abs=0.005)  # the reference's seasonal-naive figure
    assert model["mase"] < naive["mase"]
