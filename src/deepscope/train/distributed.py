"""Data-parallel training across processes, GPUs and machines with torch.distributed.

``fit`` runs data-parallel when it is started by ``torchrun`` (or any launcher that sets
``RANK``/``WORLD_SIZE``/``MASTER_ADDR``): each process joins the group (NCCL on GPUs, gloo on
CPUs), wraps the model in ``DistributedDataParallel`` and trains on its share of every batch.
``recipe.batch_size`` stays the *global* batch: each of the W processes takes every W-th sample
of it, and DDP averages the gradients, so the step is the single-process step on the same
batch (exactly, when the batch divides by W). Only rank 0 writes the run folder (config,
checkpoints, history, report); every rank reads the same checkpoint to resume.

:class:`Group` is the handful of collectives ``fit`` needs; with one process every method is
a no-op, so the loop has one code path.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

__all__ = ["Group", "current_group", "launched_by_torchrun"]

TIMEOUT_S = 600  # a collective that waits this long means a peer died: fail instead of hanging


def launched_by_torchrun() -> bool:
    """Whether this process is one of several started by torchrun (WORLD_SIZE > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


@dataclass(frozen=True)
class Group:
    """The process group of a run: ``rank`` of ``world_size`` (``local_rank`` on its machine)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value`` on every rank (any picklable object made by deepscope itself)."""
        if not self.active:
            return value
        box = [value if self.is_main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """The sum of ``tensor`` over the ranks (a new tensor; ``tensor`` is left alone)."""
        if not self.active:
            return tensor
        total = tensor.clone()
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
        return total

    def shard(self, index: torch.Tensor) -> torch.Tensor:
        """This rank's share of one global batch's sample indices: every W-th, from ``rank``."""
        return index[self.rank :: self.world_size] if self.active else index


def current_group(device_type: str) -> Group:
    """The process group this process belongs to, joining it on first use when torchrun
    started several processes; a one-process Group otherwise."""
    if not launched_by_torchrun():
        return Group()
    if not dist.is_initialized():
        backend = "nccl" if device_type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, timeout=datetime.timedelta(seconds=TIMEOUT_S))
    return Group(
        rank=dist.get_rank(),
        world_size=dist.get_world_size(),
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
        backend=dist.get_backend(),
    )
