"""The explorer: a local web app over run folders (FastAPI + one plain HTML/JS page).

FastAPI because the page needs a handful of JSON endpoints and the app must be testable
without a browser (its TestClient) and bounded on input (we read the body ourselves); Gradio
would bring its own UI, a websocket queue and a larger surface for one page of controls.

Endpoints (``RUN`` is the run's index in the order given):

- ``GET /``: the page; ``GET /api/runs``: name, kind, classes, input shape and methods per run;
- ``GET /api/runs/RUN/examples?n=12``: the first test samples (thumbnail or text);
- ``POST /api/runs/RUN/predict`` with a JSON body, one of ``{"example": i}``,
  ``{"image": "data:image/png;base64,..."}`` (an upload or the drawing canvas),
  ``{"text": "..."}`` or ``{"series": "CSV rows"}``, and optionally ``"methods": [...]``:
  the class probabilities, the feature maps (CNNs) and one explanation figure per method.

Bodies over :data:`MAX_BODY` bytes, undecodable payloads and unsupported image types are
refused with a 4xx and a one-line message. Run folders are opened read-only: nothing is
written into them (uploads go to a temporary folder that is removed at once).
"""

# No `from __future__ import annotations` here: FastAPI reads the endpoint annotations at
# definition time, and `Request` is imported inside create_app (fastapi is optional).
import base64
import binascii
import json
import tempfile
import time
from pathlib import Path
from typing import Any

MAX_BODY = 4 * 1024 * 1024  # bytes of one request body (an uploaded image travels base64-encoded)
IMAGE_TYPES = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/bmp": ".bmp",
    "image/webp": ".webp",
}
DEFAULT_METHODS = ("gradcam", "integrated_gradients", "occlusion")
STATIC = Path(__file__).resolve().parent / "static"

__all__ = ["DEFAULT_METHODS", "IMAGE_TYPES", "MAX_BODY", "Explorer", "create_app"]


class BadRequest(Exception):
    """A request the explorer refuses (answered with 400 and the message)."""


class Explorer:
    """The runs the app serves, opened on first use and kept in memory (read-only)."""

    def __init__(self, paths: list[str | Path]):
        from deepscope import runs

        if not paths:
            raise BadRequest("The explorer needs at least one run folder.")
        self.paths = [Path(p) for p in paths]
        self._runs: dict[int, Any] = {}
        self._vocabs: dict[Path, Any] = {}
        self._runs_module = runs
        for path in self.paths:  # fail at start, not on the first request
            runs.open_run(path, load_data=False)

    def run(self, index: int):
        if not 0 <= index < len(self.paths):
            raise BadRequest(f"There is no run {index}; the explorer serves runs 0..{len(self.paths) - 1}.")
        if index not in self._runs:
            self._runs[index] = self._runs_module.open_run(self.paths[index])
        return self._runs[index]

    def info(self, index: int) -> dict[str, Any]:
        from deepscope import explain

        run = self.run(index)
        kind = run.data.kind
        task = run.data.task
        methods = explain.applicable_methods(run.model, kind) if task == "classification" else []
        return {
            "id": index,
            "name": run.name,
            "kind": kind,
            "task": task,
            "classes": run.data.classes,
            "input_shape": list(run.data.input_shape),
            "methods": methods,
            "canvas": kind == "image" and run.data.input_shape[0] == 1,
        }

    def examples(self, index: int, n: int) -> list[dict[str, Any]]:
        run = self.run(index)
        x, y = run.data.test.tensors
        n = max(1, min(n, 64, len(y)))
        out = []
        for i in range(n):
            item = {"index": i, "label": run.data.classes[int(y[i])] if run.data.classes else None}
            if run.data.kind == "image":
                item["thumbnail"] = self._thumbnail(x[i])
            elif run.data.kind == "text":
                item["text"] = " ".join(self._words(run, x[i].tolist()))
            else:
                item["text"] = f"series {i} ({x.shape[1]} x {x.shape[2]})"
            out.append(item)
        return out

    @staticmethod
    def _thumbnail(image) -> str:
        from deepscope import plots

        array = (image.clamp(0, 1) * 255).byte()  # (C, H, W)
        return plots.png_data_uri((array[0] if array.shape[0] == 1 else array[:3].permute(1, 2, 0)).numpy())

    def _vocab(self, run):
        """The run's vocabulary, read from vocab.json once per run (not per request)."""
        from deepscope.data import Vocabulary

        if run.path not in self._vocabs:
            self._vocabs[run.path] = Vocabulary.load(run.path / "vocab.json")
        return self._vocabs[run.path]

    def _words(self, run, ids: list[int]) -> list[str]:
        tokens = self._vocab(run).tokens
        return [tokens[i] for i in ids if i != 0]

    def inputs(self, run, payload: dict[str, Any]):
        """The (1, *input_shape) batch a payload describes."""
        import torch

        from deepscope import data

        keys = [k for k in ("example", "image", "text", "series") if k in payload]
        if len(keys) != 1:
            raise BadRequest("Send exactly one of example, image, text or series.")
        key, value = keys[0], payload[keys[0]]
        kind, shape = run.data.kind, tuple(run.data.input_shape)
        if key == "example":
            x = run.data.test.tensors[0]
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < len(x):
                raise BadRequest(f"`example` must be a test sample index in 0..{len(x) - 1}. Received: {value!r}")
            return x[value : value + 1]
        expected = {"image": "image", "text": "text", "series": "series"}[key]
        if kind != expected:
            raise BadRequest(f"This run takes {kind} inputs; it cannot read {key!r}.")
        if not isinstance(value, str) or not value:
            raise BadRequest(f"`{key}` must be a non-empty string.")
        if key == "text":
            return self._vocab(run).encode([value])
        with tempfile.TemporaryDirectory(prefix="deepscope-serve-") as tmp:
            if key == "image":
                header, sep, body = value.partition(",")
                mime = header.removeprefix("data:").removesuffix(";base64")
                if not sep or not header.startswith("data:") or not header.endswith(";base64"):
                    raise BadRequest("`image` must be a data URL: data:image/png;base64,...")
                if mime not in IMAGE_TYPES:
                    raise BadRequest(f"Unsupported image type {mime!r}; send one of {', '.join(IMAGE_TYPES)}.")
                try:
                    raw = base64.b64decode(body, validate=True)
                except (binascii.Error, ValueError):
                    raise BadRequest("`image` is not valid base64.") from None
                path = Path(tmp) / f"upload{IMAGE_TYPES[mime]}"
                path.write_bytes(raw)
                return data.read_image(path, shape)[None]
            path = Path(tmp) / "upload.csv"
            path.write_text(value, encoding="utf-8")
            prep = run.data.info.get("preprocess", {})
            series = data.read_series(path, shape, prep)
            if len(series) != 1:
                raise BadRequest(f"Send one series; the CSV holds {len(series)}.")
            return torch.as_tensor(series)

    def predict(self, index: int, payload: dict[str, Any]) -> dict[str, Any]:
        from deepscope import explain, inspect, plots
        from deepscope.train import predict_proba

        run = self.run(index)
        if run.data.task != "classification":
            raise BadRequest(f"The explorer explains classifiers; {run.name} is a {run.data.task} run.")
        methods = payload.get(
            "methods", [m for m in DEFAULT_METHODS if m in explain.applicable_methods(run.model, run.data.kind)][:2]
        )
        if (
            not isinstance(methods, list)
            or not all(isinstance(m, str) for m in methods)
            or len(methods) > len(explain.METHODS)
        ):
            raise BadRequest("`methods` must be a list of method names.")
        start = time.perf_counter()
        x = self.inputs(run, payload)
        probs = predict_proba(run.model, x)[0]
        classes = run.data.classes
        order = probs.argsort(descending=True).tolist()
        answer: dict[str, Any] = {
            "run": run.name,
            "predicted": classes[order[0]],
            "probabilities": [{"class": classes[i], "p": round(float(probs[i]), 6)} for i in order],
            "explanations": {},
        }
        if run.data.kind == "text":
            answer["tokens"] = self._words(run, x[0].tolist())
        # Images are drawn as pixels (plots.raster): a matplotlib figure of every feature map
        # costs more than the model, the maps and Grad-CAM together. Series and text keep figures.
        if run.data.kind == "image" and inspect.conv_layers(run.model):
            pixels, captions = plots.feature_map_pixels(inspect.feature_maps(run.model, None, x))
            answer["feature_maps"], answer["feature_map_captions"] = plots.png_data_uri(pixels), captions
        tokens = self._vocab(run).tokens if run.data.kind == "text" else None
        for method in methods:
            attribution = explain.explain(run.model, x, method=method)
            answer["explanations"][method] = (
                plots.png_data_uri(plots.attribution_pixels(attribution, 0))
                if run.data.kind == "image"
                else plots.figure_data_uri(plots.attribution_figure(attribution, 0, classes=classes, tokens=tokens))
            )
        answer["seconds"] = round(time.perf_counter() - start, 4)
        return answer


def create_app(paths: list[str | Path]):
    """The FastAPI app serving the runs at ``paths``."""
    from fastapi import FastAPI, Request
    from fastapi.responses import HTMLResponse, JSONResponse

    from deepscope.errors import DeepscopeError

    explorer = Explorer(paths)
    app = FastAPI(title="deepscope explorer", docs_url=None, redoc_url=None, openapi_url=None)

    def failure(error: Exception) -> JSONResponse:
        if isinstance(error, (BadRequest, DeepscopeError)):
            return JSONResponse({"error": str(error)}, status_code=400)
        return JSONResponse({"error": f"internal error: {type(error).__name__}"}, status_code=500)

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        return (STATIC / "index.html").read_text(encoding="utf-8")

    @app.get("/api/runs")
    def runs_list():
        try:
            return [explorer.info(i) for i in range(len(explorer.paths))]
        except Exception as error:  # noqa: BLE001 - every failure becomes a JSON answer
            return failure(error)

    @app.get("/api/runs/{index}/examples")
    def examples(index: int, n: int = 12):
        try:
            return explorer.examples(index, n)
        except Exception as error:  # noqa: BLE001
            return failure(error)

    @app.post("/api/runs/{index}/predict")
    async def predict(index: int, request: Request):
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
            return JSONResponse(
                {"error": f"The request is larger than {MAX_BODY // 1024 // 1024} MiB."}, status_code=413
            )
        body = bytearray()
        async for chunk in request.stream():  # bounded even without (or with a false) Content-Length
            body += chunk
            if len(body) > MAX_BODY:
                return JSONResponse(
                    {"error": f"The request is larger than {MAX_BODY // 1024 // 1024} MiB."}, status_code=413
                )
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return JSONResponse({"error": "The body must be JSON."}, status_code=400)
        if not isinstance(payload, dict):
            return JSONResponse({"error": "The body must be a JSON object."}, status_code=400)
        try:
            return explorer.predict(index, payload)
        except Exception as error:  # noqa: BLE001
            return failure(error)

    app.state.explorer = explorer
    return app
