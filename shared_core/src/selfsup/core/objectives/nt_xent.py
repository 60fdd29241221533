"""NT-Xent (SimCLR): the 2N-view form where every view is a query against all other 2N - 1 views."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.core import distributed
from selfsup.core.objectives import _validation as check


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5, *,
            gather: bool = False) -> torch.Tensor:
    """SimCLR's normalised temperature-scaled cross-entropy.

    Args:
        z1, z2: ``(B, D)`` embeddings of two views; ``z1[i]`` and ``z2[i]`` are positives.
        temperature: logits are ``cos / temperature``.
        gather: under DDP, every view is contrasted with the views of all ranks (exact).

    Returns:
        Scalar: mean over the 2B local views of ``-log softmax`` of the positive among the
        2N - 1 other views (the view itself is excluded).
    """
    check.require_contrastive("nt_xent", ("z1", "z2"), z1, z2, temperature, gather)
    check.require_finite(z1=z1, z2=z2)

    b = z1.shape[0]
    z1, z2 = F.normalize(check.upcast(z1), dim=1), F.normalize(check.upcast(z2), dim=1)
    queries = torch.cat([z1, z2])  # (2B, D)
    if gather and distributed.is_distributed():
        keys = torch.cat([distributed.gather(z1), distributed.gather(z2)])  # (2N, D)
        n, start = keys.shape[0] // 2, distributed.rank() * b
    else:
        keys, n, start = queries, b, 0
    rows = torch.arange(b, device=z1.device) + start
    self_index = torch.cat([rows, rows + n])
    positive_index = torch.cat([rows + n, rows])
    logits = (queries @ keys.T) / temperature
    logits[torch.arange(2 * b, device=z1.device), self_index] = float("-inf")
    return F.cross_entropy(logits, positive_index)


class NTXentLoss(nn.Module):
    """Module form of :func:`nt_xent`; ``backend`` as in :class:`InfoNCELoss` (fused by default)."""

    def __init__(self, temperature: float = 0.5, gather: bool = False, backend: str = "auto") -> None:
        super().__init__()
        self.temperature, self.gather, self.backend = temperature, gather, backend

    def forward(self, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        if self.backend == "reference":
            return nt_xent(z1, z2, self.temperature, gather=self.gather)
        from selfsup.core import kernels

        return kernels.nt_xent(z1, z2, self.temperature, gather=self.gather, backend=self.backend)
