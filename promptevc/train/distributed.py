"""Multi-process training through ``torchrun`` (DDP); every helper is a no-op on one process."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import torch


@dataclasses.dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: str = "cpu"

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def init_distributed(device: str = "auto") -> DistInfo:
    """Read torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK) and set up the process group.

    ``device``: "auto" picks cuda when available. Under torchrun each process uses
    ``cuda:LOCAL_RANK`` and NCCL; on CPU, gloo.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and world_size > 1:
        device = f"cuda:{local_rank}"
        torch.cuda.set_device(local_rank)
    if world_size > 1 and not torch.distributed.is_initialized():
        backend = "nccl" if device.startswith("cuda") else "gloo"
        torch.distributed.init_process_group(backend=backend)
    return DistInfo(rank=rank, world_size=world_size, local_rank=local_rank, device=device)


def wrap_ddp(model: torch.nn.Module, info: DistInfo, find_unused_parameters: bool = False) -> torch.nn.Module:
    """``model`` wrapped in DistributedDataParallel (unchanged on one process or without trainable parameters)."""
    if not info.distributed or not any(p.requires_grad for p in model.parameters()):
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [info.local_rank] if info.device.startswith("cuda") else None
    return DistributedDataParallel(model, device_ids=ids, find_unused_parameters=find_unused_parameters)


def barrier(info: DistInfo) -> None:
    if info.distributed:
        torch.distributed.barrier()


def all_gather(obj: Any, info: DistInfo) -> list[Any]:
    """Every process's ``obj`` (picklable), in rank order; ``[obj]`` on one process."""
    if not info.distributed:
        return [obj]
    out: list[Any] = [None] * info.world_size
    torch.distributed.all_gather_object(out, obj)
    return out


def mean_over_processes(values: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Element-wise mean of a tensor across processes."""
    if not info.distributed:
        return values
    values = values.clone()
    torch.distributed.all_reduce(values)
    return values / info.world_size


def all_true(flag: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """A 0-d bool tensor that is True only when ``flag`` is True on every process."""
    if not info.distributed:
        return flag
    value = flag.to(torch.float32).reshape(1)
    torch.distributed.all_reduce(value, op=torch.distributed.ReduceOp.MIN)
    return value[0] > 0.5


def cleanup(info: DistInfo) -> None:
    if info.distributed and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
