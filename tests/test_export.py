"""deepscope export: ONNX checked in ONNX Runtime, TorchScript, safetensors; the preprocessing
metadata each file carries; the recurrent models' unrolled path; refusals."""

from __future__ import annotations

import json

import pytest
import torch

onnx = pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")

from deepscope import runs, zoo  # noqa: E402
from deepscope.data import from_texts  # noqa: E402
from deepscope.errors import InvalidArgumentError, UnknownNameError  # noqa: E402
from deepscope.export import ExportError, export  # noqa: E402
from deepscope.train import Run  # noqa: E402
from tests.zoo.test_text_models import _sentences  # noqa: E402


@pytest.fixture(scope="module")
def image_run(digits, tmp_path_factory):
    model = zoo.create("lecture_cnn", data=digits, seed=0)
    return runs.fit(model, digits, epochs=1, runs_dir=tmp_path_factory.mktemp("runs"), progress=False)


def _meta(proto) -> dict:
    return json.loads({p.key: p.value for p in proto.metadata_props}["deepscope"])


def test_onnx_export_matches_pytorch_at_any_batch_size_and_carries_the_preprocessing(image_run):
    result = export(image_run.path)
    assert result.path == image_run.path / "export" / "model.onnx" and result.max_abs_diff <= 1e-4
    meta = _meta(onnx.load(str(result.path)))
    assert meta == result.metadata
    assert meta["input_shape"] == ["batch", 1, 8, 8] and meta["classes"] == [str(d) for d in range(10)]
    assert meta["input_dtype"] == "float32" and "(x/16)" in meta["input"]  # digits are scaled x/16
    session = onnxruntime.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    x = image_run.data.test.tensors[0][:7]  # real images, a batch size the export never saw
    got = torch.from_numpy(session.run(None, {"input": x.numpy()})[0])
    with torch.no_grad():
        assert torch.allclose(got, image_run.model.eval()(x), atol=1e-4)


def test_torchscript_and_safetensors_exports_round_trip(image_run, tmp_path):
    from safetensors import safe_open

    traced = export(image_run.path, "torchscript", tmp_path / "m.pt")
    assert traced.max_abs_diff <= 1e-5
    extra = {"deepscope.json": ""}
    with pytest.warns(FutureWarning, match="deprecated"):  # TorchScript: deprecated by torch 2.14, still loads
        loaded = torch.jit.load(str(tmp_path / "m.pt"), _extra_files=extra)
    assert json.loads(extra["deepscope.json"])["classes"] == image_run.data.classes
    x = image_run.data.test.tensors[0][:3]
    with torch.no_grad():
        assert torch.allclose(loaded(x), image_run.model.eval()(x), atol=1e-5)
    weights = export(image_run.path, "safetensors", tmp_path / "m.safetensors")
    assert weights.max_abs_diff is None
    with safe_open(str(weights.path), "pt") as f:
        assert json.loads(f.metadata()["deepscope"])["model"] == "lecture_cnn"
        for name, tensor in image_run.model.state_dict().items():
            assert torch.equal(f.get_tensor(name), tensor)


@pytest.mark.filterwarnings("ignore:'imdb_.*' is designed for data loaded with")  # short texts on purpose
def test_recurrent_text_models_export_their_packed_lstm_unrolled(tmp_path):
    texts, labels = _sentences(60)
    data = from_texts(texts, labels, maxlen=12, padding="pre")
    for name in ("imdb_lstm", "imdb_bidirectional_lstm"):
        model = zoo.create(name, data=data, seed=0)
        run = runs.fit(model, data, epochs=1, runs_dir=tmp_path / "runs", progress=False)
        result = export(run.path, out=tmp_path / name / "model.onnx")  # checked on pre-padded and empty texts
        assert result.max_abs_diff <= 1e-5
        assert result.metadata["vocabulary"] == "vocab.json" and result.metadata["input_dtype"] == "int64"
        assert (tmp_path / name / "vocab.json").read_bytes() == (run.path / "vocab.json").read_bytes()
        session = onnxruntime.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
        ids = data.test.tensors[0]  # real reviews, pre-padded
        got = torch.from_numpy(session.run(None, {"input": ids.numpy()})[0])
        with torch.no_grad():
            assert torch.allclose(got, run.model.eval()(ids), atol=1e-5)


def test_cli_export_prints_the_check(image_run, tmp_path, capsys):
    from deepscope.cli import main

    out = tmp_path / "digits.onnx"
    assert main(["export", str(image_run.path), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"Wrote {out} (onnx, torch.onnx" in printed
    assert "Checked: ONNX Runtime vs PyTorch, max |difference|" in printed and out.is_file()


def test_bad_requests_are_refused(image_run, tmp_path):
    with pytest.raises(UnknownNameError, match="onnx"):
        export(image_run.path, "onyx")
    (tmp_path / "folder").mkdir()
    with pytest.raises(InvalidArgumentError, match="`out` must be a file path"):
        export(image_run.path, out=tmp_path / "folder")
    with pytest.raises(InvalidArgumentError, match="`tolerance` must be a float > 0"):
        export(image_run.path, tolerance=0)
    assert export(image_run.path, out=tmp_path / "m.onnx").max_abs_diff > 0  # float arithmetic differs a little
    with pytest.raises(ExportError, match=r"differs from the PyTorch model by up to .* \(tolerance 1e-30\)"):
        export(image_run.path, out=tmp_path / "m2.onnx", tolerance=1e-30)


class _Two(torch.nn.Module):  # two outputs: no single output tensor to export and compare
    def forward(self, x):
        return x, x


def test_a_model_the_exporters_cannot_express_is_named(image_run, tmp_path):
    run = Run(path=tmp_path, model=_Two(), data=None, config=image_run.config)
    with pytest.raises(ExportError, match="_Two"):
        export(run, out=tmp_path / "two.onnx")


@pytest.mark.slow
def test_every_zoo_family_exports_to_onnx_within_1e_4(tmp_path):
    """Each zoo entry at its example shape (untrained weights): convnets, pretrained backbones
    (their resize and normalisation in the graph), RNNs, text models, series, seq2seq."""
    from deepscope.zoo.registry import MODELS

    worst = {}
    for name in MODELS.names():
        meta = MODELS.get(name).meta["info"]
        model = zoo.create(name, in_shape=meta.example_shape, num_classes=meta.example_classes, **meta.example_kwargs)
        config = {
            "model": {"name": name},
            "data": {"kind": meta.kind, "task": meta.task, "input_shape": list(meta.example_shape), "classes": None},
        }
        run = Run(path=tmp_path, model=model, data=None, config=config)
        worst[name] = export(run, out=tmp_path / f"{name}.onnx").max_abs_diff
    assert max(worst.values()) <= 1e-4, worst
    assert len(worst) >= 27
