"""Process-group helpers and a differentiable all-gather.

Every cross-batch objective calls :func:`gather` when ``gather=True``. Under DDP each
rank then computes its loss over its local rows against the keys of all ranks, and the
gradient flowing back into the gathered tensor is summed over ranks and sliced, so that
after DDP averages parameter gradients the result equals one process on the whole batch.
"""

from __future__ import annotations

import torch
import torch.distributed as dist

__all__ = [
    "all_reduce_sum", "barrier", "gather", "init_from_env", "is_distributed", "is_main_process", "rank", "world_size",
]


def is_distributed() -> bool:
    """True when a process group is initialised and has more than one rank."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    """The number of processes of the run (1 without torch.distributed)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    """This process's rank (0 without torch.distributed)."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


class _GatherWithGrad(torch.autograd.Function):
    """All-gather along dim 0 whose backward returns this rank's slice of the summed gradient."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.local_rows = tensor.shape[0]
        ctx.rank = dist.get_rank()
        out = tensor.new_empty((dist.get_world_size() * tensor.shape[0], *tensor.shape[1:]))
        dist.all_gather_into_tensor(out, tensor.contiguous())
        return out

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        grad = grad_output.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        start = ctx.rank * ctx.local_rows
        return grad[start : start + ctx.local_rows]


def _check_equal_rows(tensor: torch.Tensor) -> None:
    rows = torch.tensor([tensor.shape[0]], device=tensor.device)
    all_rows = [torch.zeros_like(rows) for _ in range(dist.get_world_size())]
    dist.all_gather(all_rows, rows)
    sizes = [int(r.item()) for r in all_rows]
    if len(set(sizes)) != 1:
        raise ValueError(
            f"gather=True needs the same local batch size on every rank, got {sizes}; "
            "use drop_last=True in the sampler/loader"
        )


def gather(tensor: torch.Tensor, check_sizes: bool = True) -> torch.Tensor:
    """Concatenate ``tensor (B, ...)`` from all ranks into ``(world * B, ...)``, keeping autograd.

    Rank ``r``'s rows sit at ``[r * B, (r + 1) * B)``. Without a process group (or with
    one rank) the tensor is returned unchanged.
    """
    if not is_distributed():
        return tensor
    if check_sizes:
        _check_equal_rows(tensor)
    if tensor.requires_grad:
        return _GatherWithGrad.apply(tensor)
    out = tensor.new_empty((dist.get_world_size() * tensor.shape[0], *tensor.shape[1:]))
    dist.all_gather_into_tensor(out, tensor.contiguous())
    return out


@torch.no_grad()
def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum of a (non-differentiable) tensor over ranks; identity without a process group."""
    if not is_distributed():
        return tensor
    out = tensor.clone()
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out


def init_from_env(backend: str | None = None) -> bool:
    """Join the process group that ``torchrun`` describes in the environment (``WORLD_SIZE`` > 1).

    ``backend`` defaults to NCCL when CUDA is available and gloo otherwise. Returns whether this
    process is part of a multi-process run. Safe to call twice.
    """
    import os

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    if not dist.is_initialized():
        backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend)
    return True


def is_main_process() -> bool:
    """Whether this is rank 0, the process that logs and writes checkpoints."""
    return rank() == 0


def barrier() -> None:
    """Wait for every rank (nothing without torch.distributed)."""
    if is_distributed():
        dist.barrier()
