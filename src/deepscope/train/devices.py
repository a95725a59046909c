"""Where and how fast a run trains: the device, mixed precision, ``torch.compile`` and
channels_last, each chosen by the user or by ``'auto'``, with the reason recorded in the run.

``'auto'`` turns an option on only where it was measured to pay (``benchmarks/speed_options.py``
measures them on the machine at hand):

- device: the first CUDA GPU, else Apple's MPS, else the CPU.
- precision: fp32 on CPUs -- bf16 autocast ran ~8x slower on the AVX2 CPUs measured here (no
  native bf16 arithmetic) and failed for LSTMs; on CUDA, bf16 autocast where the GPU does bf16
  natively (compute capability >= 8.0: tensor cores; no loss scaling needed), else fp32.
- compile: off. On the CPUs measured, ``torch.compile`` made 2-D convnets slower and 1-D ones
  1.2x faster, but its first-epoch compile time (tens of seconds) outweighs that gain for the
  recipes' run lengths; on GPUs it is not yet measured here.
- channels_last: off on CPUs (measured: no gain for the zoo's small convnets); on CUDA with
  bf16 for models with 2-D convolutions (tensor-core convolutions want NHWC).

The run folder never depends on the device: weights are saved from CPU copies, and a run
trained on a GPU opens, evaluates and resumes on a CPU.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from deepscope.errors import InvalidArgumentError, invalid

__all__ = ["PRECISIONS", "Speed", "device_of", "model_family", "resolve_device", "resolve_speed"]

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
_AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """'auto' (CUDA, else MPS, else CPU), 'cpu', 'cuda', 'cuda:N', 'mps' or a torch.device ->
    a torch.device that exists on this machine."""
    if device is None or device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise invalid("device", "'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'", device) from None
    if resolved.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise InvalidArgumentError(
                f"`device` must be a device this machine has; it has no CUDA GPU (torch {torch.__version__}, "
                f"built for CUDA {torch.version.cuda}). Received: device={str(device)!r}. Use 'cpu' or 'auto'."
            )
        index = resolved.index if resolved.index is not None else torch.cuda.current_device()
        if index >= count:
            raise InvalidArgumentError(
                f"`device` must name one of this machine's {count} GPU(s) (cuda:0..cuda:{count - 1}). "
                f"Received: device={str(device)!r}."
            )
        return torch.device("cuda", index)
    if resolved.type == "mps" and not _mps_available():
        raise InvalidArgumentError(
            f"`device` must be a device this machine has; MPS is not available. Received: device={str(device)!r}."
        )
    if resolved.type not in ("cpu", "cuda", "mps"):
        raise invalid("device", "'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'", device)
    return resolved


def device_of(model: nn.Module) -> torch.device:
    """Where ``model``'s parameters (else buffers) live; the CPU for a model without tensors."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def model_family(model: nn.Module) -> str:
    """'conv2d', 'conv1d', 'recurrent' or 'dense': what decides the speed options."""
    kinds = {type(m) for m in model.modules()}
    if any(issubclass(k, nn.Conv2d) for k in kinds):
        return "conv2d"
    if any(issubclass(k, nn.RNNBase) for k in kinds):
        return "recurrent"
    if any(issubclass(k, nn.Conv1d) for k in kinds):
        return "conv1d"
    return "dense"


@dataclass(frozen=True)
class Speed:
    """The speed settings of one run, and why each was chosen (recorded in config.json)."""

    device: str
    precision: str  # 'fp32', 'bf16', 'fp16'
    compile: bool
    channels_last: bool
    reasons: dict[str, str] = field(default_factory=dict)

    @property
    def amp_dtype(self) -> torch.dtype | None:
        return _AMP_DTYPES.get(self.precision)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def resolve_speed(
    model: nn.Module,
    device: str | torch.device | None = "auto",
    *,
    precision: str = "auto",
    compile: bool | str = "auto",
    channels_last: bool | str = "auto",
) -> Speed:
    """The settings for training ``model``: each option as given, or chosen by 'auto' (see the
    module docstring), with the reason."""
    where = resolve_device(device)
    family = model_family(model)
    if precision not in PRECISIONS:
        raise invalid("precision", f"one of {list(PRECISIONS)}", precision)
    for name, value in (("compile", compile), ("channels_last", channels_last)):
        if value not in ("auto", True, False):
            raise invalid(name, "True, False or 'auto'", value)
    reasons = {}
    if precision == "auto":
        if where.type == "cuda" and torch.cuda.get_device_capability(where) >= (8, 0):
            precision, reasons["precision"] = "bf16", "auto: bf16 autocast on a GPU with native bf16 (sm >= 8.0)"
        else:
            precision = "fp32"
            reasons["precision"] = (
                "auto: fp32 on CPU (bf16 autocast measured ~8x slower on AVX2 CPUs)"
                if where.type == "cpu"
                else f"auto: fp32 on {where.type} (bf16 not native here)"
            )
    else:
        reasons["precision"] = "given"
    if precision == "fp16" and where.type == "cpu":
        raise invalid("precision", "'fp32' or 'bf16' on a CPU (fp16 autocast with loss scaling is for GPUs)", precision)
    if precision == "bf16" and family == "recurrent" and where.type == "cpu":
        raise InvalidArgumentError(
            "`precision` must be 'fp32' for recurrent models on a CPU: PyTorch's oneDNN LSTM fails under bf16 "
            "autocast on the CPUs measured here. Received: precision='bf16'."
        )
    if compile == "auto":
        compile, reasons["compile"] = (
            False,
            "auto: off (its compile time outweighs the measured gains at these run lengths)",
        )
    else:
        reasons["compile"] = "given"
    if channels_last == "auto":
        channels_last = where.type == "cuda" and precision != "fp32" and family == "conv2d"
        reasons["channels_last"] = (
            "auto: on for 2-D convolutions under autocast on a GPU"
            if channels_last
            else "auto: off (measured no gain on CPU; only 2-D convnets under autocast on GPUs use it)"
        )
    else:
        reasons["channels_last"] = "given"
    if channels_last and family != "conv2d":
        raise invalid("channels_last", f"False for a model without 2-D convolutions (this one is {family})", True)
    return Speed(str(where), precision, bool(compile), bool(channels_last), reasons)
