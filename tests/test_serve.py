"""The explorer's API: runs, examples, predictions with explanations, bounded and refused input."""

from __future__ import annotations

import base64
import hashlib
import io

import numpy as np
import pytest
from PIL import Image

from deepscope.cli import main

pytest.importorskip("fastapi", reason="the explorer needs fastapi (pip install 'deepscope[serve]')")
pytest.importorskip("httpx", reason="FastAPI's TestClient needs httpx")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from fastapi.testclient import TestClient

    from deepscope.serve import create_app

    folder = tmp_path_factory.mktemp("serve")
    paths = []
    for model in ("lecture_cnn", "softmax_regression"):
        path = folder / model
        assert main(["train", model, "--data", "digits", "--epochs", "3", "--out", str(path), "--quiet"]) == 0
        paths.append(path)
    before = {
        p: sorted((f.name, hashlib.md5(f.read_bytes()).hexdigest()) for f in p.rglob("*") if f.is_file()) for p in paths
    }
    client = TestClient(create_app(paths))
    yield client, paths
    after = {
        p: sorted((f.name, hashlib.md5(f.read_bytes()).hexdigest()) for f in p.rglob("*") if f.is_file()) for p in paths
    }
    assert after == before  # the explorer never writes into run folders


def _decoded(uri: str) -> Image.Image:
    header, _, body = uri.partition(",")
    assert header == "data:image/png;base64"
    return Image.open(io.BytesIO(base64.b64decode(body)))


def _digit_data_url(colour_on_white: bool = True) -> str:
    canvas = np.full((196, 196), 255 if colour_on_white else 0, np.uint8)
    canvas[30:170, 90:110] = 0 if colour_on_white else 255  # a "1"
    buffer = io.BytesIO()
    Image.fromarray(canvas).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def test_the_page_and_the_run_list(served):
    client, _ = served
    page = client.get("/")
    assert page.status_code == 200 and "<canvas" in page.text and "/api/runs" in page.text
    runs = client.get("/api/runs").json()
    assert [r["name"] for r in runs] == ["lecture_cnn", "softmax_regression"]
    assert runs[0]["kind"] == "image" and runs[0]["canvas"] is True and "gradcam" in runs[0]["methods"]
    assert "gradcam" not in runs[1]["methods"] and runs[1]["classes"] == [str(d) for d in range(10)]


def test_examples_come_as_thumbnails(served):
    client, _ = served
    examples = client.get("/api/runs/0/examples?n=5").json()
    assert [e["index"] for e in examples] == [0, 1, 2, 3, 4]
    assert all(e["thumbnail"].startswith("data:image/png;base64,") for e in examples)


def test_a_test_example_gets_probabilities_feature_maps_and_explanations(served):
    client, _ = served
    answer = client.post("/api/runs/0/predict", json={"example": 1, "methods": ["gradcam", "lime"]}).json()
    probs = [p["p"] for p in answer["probabilities"]]
    assert len(probs) == 10 and abs(sum(probs) - 1) < 1e-4 and probs == sorted(probs, reverse=True)
    assert answer["predicted"] == answer["probabilities"][0]["class"]
    assert answer["feature_maps"].startswith("data:image/png;base64,")
    assert answer["feature_map_captions"][0] == "input (1, 8, 8)" and "maps of 8x8" in answer["feature_map_captions"][1]
    assert sorted(answer["explanations"]) == ["gradcam", "lime"]
    picture = _decoded(answer["explanations"]["gradcam"])  # the input beside its heatmap
    assert picture.mode == "RGB" and picture.width > 2 * picture.height >= 2 * 8


def test_a_drawn_digit_round_trip(served):
    client, _ = served
    answer = client.post("/api/runs/0/predict", json={"image": _digit_data_url()}).json()
    assert answer["predicted"] in [str(d) for d in range(10)]
    assert sorted(answer["explanations"]) == ["gradcam", "integrated_gradients"]
    dense = client.post("/api/runs/1/predict", json={"image": _digit_data_url()}).json()
    assert "feature_maps" not in dense and sorted(dense["explanations"]) == ["integrated_gradients", "occlusion"]


@pytest.mark.parametrize(
    ("payload", "status", "message"),
    [
        ({"example": 10_000}, 400, "test sample index in 0..359"),
        ({"image": "data:image/svg+xml;base64,PHN2Zz4="}, 400, "Unsupported image type 'image/svg+xml'"),
        ({"image": "data:image/png;base64,@@@"}, 400, "not valid base64"),
        ({"image": "data:image/png;base64,aGVsbG8="}, 400, "upload.png"),
        ({"text": "hello"}, 400, "This run takes image inputs"),
        ({"example": 1, "image": "x"}, 400, "exactly one of"),
        ({"example": 1, "methods": ["gradcm"]}, 400, "Unknown method 'gradcm'"),
    ],
)
def test_bad_requests_are_refused_with_a_message(served, payload, status, message):
    client, _ = served
    response = client.post("/api/runs/0/predict", json=payload)
    assert response.status_code == status
    assert message in response.json()["error"]


def test_oversized_and_non_json_bodies_are_refused(served):
    from deepscope.serve import MAX_BODY

    client, _ = served
    big = client.post(
        "/api/runs/0/predict", content=b"x" * (MAX_BODY + 1), headers={"content-type": "application/json"}
    )
    assert big.status_code == 413 and "larger than" in big.json()["error"]
    assert client.post("/api/runs/0/predict", content=b"\xff\xfe").status_code == 400
    assert client.post("/api/runs/0/predict", json=[1, 2]).json()["error"] == "The body must be a JSON object."
    assert "no run 7" in client.get("/api/runs/7/examples").json()["error"]


def test_deepscope_serve_prints_the_url_answers_and_stops_on_ctrl_c(served):
    import json
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    _, paths = served
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = "import sys; from deepscope.cli import main; raise SystemExit(main(sys.argv[1:]))"
    process = subprocess.Popen(
        [sys.executable, "-c", code, "serve", str(paths[0]), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        runs = None
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/runs", timeout=2) as response:
                    runs = json.loads(response.read())
                break
            except OSError:
                time.sleep(0.5)
        assert runs is not None and runs[0]["name"] == "lecture_cnn"
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert f"http://127.0.0.1:{port}/" in out and "explorer stopped" in out
    assert "Traceback" not in err
