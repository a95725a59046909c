"""Export a run's model to ONNX, TorchScript or safetensors, checked against the original.

``export(RUN, format='onnx')`` writes ``RUN/export/model.onnx`` (or ``out``) with a dynamic
batch dimension, runs it in ONNX Runtime on inputs of the run's kind at two batch sizes and
compares the outputs with the PyTorch model's: ``Exported.max_abs_diff`` is the largest
absolute difference, and more than ``tolerance`` (1e-4 for fp32) raises. TorchScript
(``model.pt``, traced) is checked the same way in torch; safetensors (``model.safetensors``) is
the weights alone, exact by construction.

Every file carries the preprocessing a caller must repeat (:func:`metadata`): the input shape
and dtype, what the values mean (images in [0, 1], scaled as the data's loader scaled them;
resizing and normalisation of pretrained backbones are inside the graph), the class names, and
for text the vocabulary (``vocab.json``, written beside the export) that turns raw text into ids.
ONNX keeps it in the model's ``metadata_props`` (key ``deepscope``), TorchScript in the
archive's extra file ``deepscope.json``, safetensors in its header metadata.

ONNX export tries torch's TorchScript-based exporter first (fast, and it expresses the
recurrent zoo models, which unroll their packed sequences under an exporter), then the
``torch.export``-based one (``dynamo=True``: torchvision's antialiased resize, EmbeddingBag
with padding). Which one wrote the file is recorded.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from deepscope import limits
from deepscope.atomic import atomic_write
from deepscope.errors import DeepscopeError, RunError, UnknownNameError, invalid

__all__ = ["FORMATS", "ExportError", "Exported", "export", "metadata"]

FORMATS = ("onnx", "torchscript", "safetensors")
METADATA_KEY = "deepscope"
_FILES = {"onnx": "model.onnx", "torchscript": "model.pt", "safetensors": "model.safetensors"}
_EXAMPLE_BATCH, _CHECK_BATCHES = 2, (1, 5)  # exported at 2, checked at 1 and 5: the batch is dynamic


class ExportError(DeepscopeError):
    """A model that the chosen format cannot express, or whose export differs from it."""


@dataclass
class Exported:
    """What :func:`export` wrote: the file, its format, the metadata it carries and how far
    its outputs are from the PyTorch model's on the check inputs (None: not checked)."""

    path: Path
    format: str
    metadata: dict[str, Any]
    max_abs_diff: float | None = None
    exporter: str | None = None
    files: list[Path] = field(default_factory=list)  # everything written (the model, vocab.json)


def metadata(run: Any) -> dict[str, Any]:
    """The preprocessing an exported model needs, from a run (``deepscope.runs.open_run``)."""
    data = run.config.get("data", {})
    info = data.get("info", {})
    kind = data.get("kind")
    meta: dict[str, Any] = {
        "format": 1,
        "deepscope_version": run.config.get("deepscope_version"),
        "model": run.config.get("model", {}).get("name"),
        "kind": kind,
        "task": data.get("task", "classification"),
        "input_shape": ["batch", *data.get("input_shape", [])],
        "input_dtype": "int64" if _takes_ids(run) else "float32",
        "classes": data.get("classes"),
        "output": "logits (batch, classes): softmax gives probabilities"
        if data.get("task", "classification") == "classification"
        else "the model's output",
    }
    if kind == "image":
        scale = info.get("scale") or "x/255"
        meta["input"] = f"pixels in [0, 1] ({scale}), channels first (C, H, W)"
        prepare = _prepare_of(run.model)
        if prepare is not None:
            meta["inside_the_graph"] = {
                "resize_to": prepare["size"],
                "normalise_mean": prepare["mean"],
                "normalise_std": prepare["std"],
            }
    elif kind == "text":
        meta["input"] = "token ids (0 = padding); encode raw text with the vocabulary"
        meta["vocabulary"] = "vocab.json"
        meta["text_settings"] = {k: info[k] for k in ("maxlen", "padding", "truncating", "tokenizer") if k in info}
    elif kind in ("series", "sequence"):
        meta["input"] = "values as the data's loader prepared them (channels first for series)"
        meta["normalisation"] = {k: v for k, v in info.items() if "norm" in k or k in ("scale", "mean", "std")}
    return meta


def _prepare_of(model: nn.Module) -> dict[str, Any] | None:
    """A pretrained backbone's in-graph preprocessing (zoo.pretrained.Prepare), if any."""
    for module in model.modules():
        if type(module).__name__ == "Prepare" and hasattr(module, "mean") and hasattr(module, "size"):
            return {
                "size": int(module.size),
                "mean": [round(float(v), 6) for v in module.mean.flatten()],
                "std": [round(float(v), 6) for v in module.std.flatten()],
            }
    return None


def _example(run: Any, model: nn.Module, batch: int, seed: int) -> torch.Tensor:
    """Inputs of the run's kind: images in [0, 1], series N(0, 1), token ids of the
    vocabulary with some padding (the first sample pre-padded, the second empty)."""
    data = run.config.get("data", {})
    shape = tuple(int(s) for s in data.get("input_shape", ()))
    if not shape:
        raise ExportError(f"Run {run.path} records no input shape in config.json; it cannot be exported.")
    generator = torch.Generator().manual_seed(seed)
    if _takes_ids(run):
        vocab = _vocab_size(model) or int(data.get("info", {}).get("vocab_size", 2))
        ids = torch.randint(2, max(vocab, 3), (batch, *shape), generator=generator)
        ids[0, : shape[-1] // 3] = 0  # padding in front, as 'pre' padding leaves it
        if batch > 2:
            ids[2] = 0  # an empty text
        return ids
    if data.get("kind") == "series":
        return torch.randn(batch, *shape, generator=generator)
    return torch.rand(batch, *shape, generator=generator)


def _takes_ids(run: Any) -> bool:
    """Text runs, and models that start from an embedding (addition_rnn's characters), read
    int64 ids; every other model float32 values."""
    return run.config.get("data", {}).get("kind") == "text" or _vocab_size(run.model) is not None


def _vocab_size(model: nn.Module) -> int | None:
    for module in model.modules():
        if isinstance(module, (nn.Embedding, nn.EmbeddingBag)):
            return int(module.num_embeddings)
    return None


def export(
    run: Any,
    format: str = "onnx",
    out: str | Path | None = None,
    *,
    check: bool = True,
    tolerance: float = 1e-4,
) -> Exported:
    """Export run ``run`` (a folder or an opened Run) as ``format`` ('onnx', 'torchscript',
    'safetensors') to ``out`` (default ``RUN/export/model.<ext>``), with a dynamic batch
    dimension and :func:`metadata`; ``check`` compares it with the PyTorch model (see the
    module docstring) and raises :class:`ExportError` past ``tolerance``."""
    from deepscope.runs import open_run

    if format not in FORMATS:
        raise UnknownNameError("format", format, FORMATS)
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not tolerance > 0:
        raise invalid("tolerance", "a float > 0", tolerance)
    if isinstance(run, (str, Path)):
        run = open_run(run, load_data=False)
    model = run.model.eval().cpu()
    path = Path(out) if out is not None else Path(run.path) / "export" / _FILES[format]
    if path.exists() and not path.is_file():
        raise invalid("out", "a file path (not a folder)", str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = metadata(run)
    files = [path]
    vocab = Path(run.path) / "vocab.json"
    if meta["kind"] == "text" and vocab.is_file() and path.parent.resolve() != Path(run.path).resolve():
        target = path.parent / "vocab.json"
        content = limits.read_bytes(vocab, "vocabulary file", error=RunError)  # regular files only, capped
        atomic_write(target, lambda tmp: tmp.write_bytes(content))
        files.append(target)
    example = _example(run, model, _EXAMPLE_BATCH, seed=0)
    _check_signature(model, example)
    result = Exported(path=path, format=format, metadata=meta, files=files)
    if format == "safetensors":
        from safetensors.torch import save_file

        state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
        header = {METADATA_KEY: json.dumps(meta)}
        atomic_write(path, lambda tmp: save_file(state, str(tmp), metadata=header))
        return result
    if format == "torchscript":
        result.exporter = "torch.jit.trace"
        atomic_write(path, lambda tmp: _save_torchscript(model, example, tmp, meta))
        if check:
            with _quiet():  # torch 2.14 marks TorchScript deprecated (in favour of torch.export)
                loaded = torch.jit.load(str(path), map_location="cpu")
            result.max_abs_diff = _compare(run, model, loaded, tolerance, path)
        return result
    result.exporter = _save_onnx(model, example, path, meta)
    if check:
        result.max_abs_diff = _compare(run, model, _onnx_runner(path), tolerance, path)
    return result


def _check_signature(model: nn.Module, example: torch.Tensor) -> None:
    """Export needs one input tensor in and one output tensor out (every classifier and
    regressor of the zoo); say so, naming the model, rather than fail inside an exporter."""
    try:
        with torch.no_grad():
            output = model(example)
    except Exception as error:  # a model that wants other inputs raises whatever its layers raise
        raise ExportError(
            f"{type(model).__name__} does not run on one input of its recorded shape ({_first_line(error)}); "
            "export handles models with one input tensor and one output tensor."
        ) from None
    if not isinstance(output, torch.Tensor):
        raise ExportError(
            f"{type(model).__name__} returns a {type(output).__name__}, not one tensor; export handles models "
            "with one input tensor and one output tensor."
        )


def _save_torchscript(model: nn.Module, example: torch.Tensor, tmp: Path, meta: dict[str, Any]) -> None:
    with torch.no_grad(), _quiet():  # TracerWarnings (Python values baked in), deprecation notices
        try:
            traced = torch.jit.trace(model, (example,), check_trace=False)
        except Exception as error:  # tracing raises many types; the message says what failed
            raise ExportError(f"TorchScript cannot trace {type(model).__name__}: {_first_line(error)}") from None
        torch.jit.save(traced, str(tmp), _extra_files={"deepscope.json": json.dumps(meta)})


def _save_onnx(model: nn.Module, example: torch.Tensor, path: Path, meta: dict[str, Any]) -> str:
    """Write ``path`` with the first exporter that succeeds; returns its name."""
    try:
        import onnx
    except ImportError:
        raise ExportError(
            "ONNX export needs the packages onnx and onnxruntime: pip install 'deepscope[export]'."
        ) from None
    failures = []
    for name, dynamo in (("torch.onnx (TorchScript-based)", False), ("torch.onnx (torch.export)", True)):
        buffer = io.BytesIO()
        try:
            with _quiet(), torch.no_grad():
                if dynamo:
                    batch = torch.export.Dim("batch", min=1, max=1 << 20)
                    program = torch.onnx.export(
                        model,
                        (example,),
                        dynamo=True,
                        input_names=["input"],
                        output_names=["output"],
                        dynamic_shapes=({0: batch},),
                    )
                    proto = program.model_proto
                else:
                    torch.onnx.export(
                        model,
                        (example,),
                        buffer,
                        dynamo=False,
                        input_names=["input"],
                        output_names=["output"],
                        dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                    )
                    proto = onnx.load_from_string(buffer.getvalue())
        except Exception as error:  # exporters raise many types; try the next, then report both
            failures.append(f"{name}: {_first_line(error)}")
            continue
        entry = proto.metadata_props.add()
        entry.key, entry.value = METADATA_KEY, json.dumps(meta)
        atomic_write(path, lambda tmp, proto=proto: onnx.save(proto, str(tmp)))
        return name
    raise ExportError(f"{type(model).__name__} cannot be exported to ONNX. " + " ".join(failures))


def _onnx_runner(path: Path):
    try:
        import onnxruntime
    except ImportError:
        raise ExportError("Checking an ONNX export needs onnxruntime: pip install 'deepscope[export]'.") from None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = max(1, torch.get_num_threads())
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def run(x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(session.run(None, {session.get_inputs()[0].name: x.numpy()})[0])

    return run


def _compare(run: Any, model: nn.Module, exported: Any, tolerance: float, path: Path) -> float:
    """The largest |exported - model| over check inputs at batch sizes 1 and 5."""
    worst = 0.0
    for seed, batch in enumerate(_CHECK_BATCHES, start=1):
        x = _example(run, model, batch, seed=seed)
        with torch.no_grad():
            expected = model(x)
            got = exported(x)
        if tuple(got.shape) != tuple(expected.shape):
            raise ExportError(
                f"{path} returns shape {tuple(got.shape)} for a batch of {batch}; the model returns "
                f"{tuple(expected.shape)}."
            )
        worst = max(worst, float((got.float() - expected.float()).abs().max()))
    if not worst <= tolerance:
        raise ExportError(
            f"{path} differs from the PyTorch model by up to {worst:.3g} (tolerance {tolerance:g}); not usable as is."
        )
    return worst


@contextlib.contextmanager
def _quiet():
    """Exporters print progress and warn about deprecations; a command prints its own lines."""
    import logging

    sink = io.StringIO()
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:300]}" if text else type(error).__name__
