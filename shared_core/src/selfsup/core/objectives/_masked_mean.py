"""Mean over the selected tokens, exact under DDP when the number of selected tokens varies by rank."""

from __future__ import annotations

import torch

from selfsup.core import distributed


def masked_mean(values: torch.Tensor, mask: torch.Tensor | None, gather: bool) -> torch.Tensor:
    """Mean of ``values (B, N)`` where ``mask (B, N)`` is True (all when None).

    With ``gather`` the local sum is divided by the global count and multiplied by the world
    size, so that DDP's averaging over ranks gives the mean over all selected tokens.
    """
    if mask is None:
        total, count = values.sum(), values.new_tensor(float(values.numel()))
    else:
        total = values.masked_fill(~mask, 0.0).sum()
        count = mask.sum().to(values.dtype)
    if gather and distributed.is_distributed():
        count = distributed.all_reduce_sum(count) / distributed.world_size()
    if not torch.compiler.is_compiling() and count.item() == 0:
        raise ValueError("the mask selects no token: nothing to compute the loss on")
    return total / count
