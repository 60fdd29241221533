"""Barlow Twins (Zbontar et al. 2021): make the cross-correlation of two views the identity."""

from __future__ import annotations

import torch
from torch import nn

from selfsup.core import distributed
from selfsup.core.objectives import _validation as check
from selfsup.core.objectives._cross_correlation import frobenius_sq_of_cross


def _standardize(z: torch.Tensor, eps: float) -> torch.Tensor:
    """Batch-standardise ``z (N, D)`` per feature with the biased variance (as BatchNorm)."""
    mean = z.mean(dim=0)
    var = z.var(dim=0, unbiased=False)
    return (z - mean) / torch.sqrt(var + eps)


def barlow_twins(z1: torch.Tensor, z2: torch.Tensor, lambd: float = 5e-3, *,
                 eps: float = 1e-5, gather: bool = False) -> torch.Tensor:
    """Barlow Twins loss.

    Args:
        z1, z2: ``(B, D)`` projector outputs of two views.
        lambd: weight of the off-diagonal (redundancy) term.
        eps: added to the variance in the batch standardisation.
        gather: under DDP, standardise and correlate over the batch of all ranks (exact).

    Returns:
        Scalar ``sum_i (1 - C_ii)^2 + lambd * sum_{i != j} C_ij^2`` with
        ``C = z1_n^T z2_n / N`` (D x D) over the global batch of N rows. When ``2N < D`` the
        off-diagonal term goes through the N x N Gram matrices instead (same value).
    """
    check.require_pair("z1", z1, "z2", z2, 2)
    check.require_batch("barlow_twins", z1.shape[0], 2, gather, "the batch variance needs 2 rows")
    check.require_finite(z1=z1, z2=z2)

    z1, z2 = check.upcast(z1), check.upcast(z2)
    if gather:
        z1, z2 = distributed.gather(z1), distributed.gather(z2)
    n = z1.shape[0]
    a, b = _standardize(z1, eps), _standardize(z2, eps)
    on_diag = (a * b).sum(dim=0) / n  # C_ii
    invariance = (1 - on_diag).pow(2).sum()
    redundancy = frobenius_sq_of_cross(a, b) / n**2 - on_diag.pow(2).sum()
    return invariance + lambd * redundancy


class BarlowTwinsLoss(nn.Module):
    """Module form of :func:`barlow_twins`."""

    def __init__(self, lambd: float = 5e-3, gather: bool = False) -> None:
        super().__init__()
        self.lambd, self.gather = lambd, gather

    def forward(self, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        return barlow_twins(z1, z2, self.lambd, gather=self.gather)
