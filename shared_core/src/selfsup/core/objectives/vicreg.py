"""VICReg (Bardes et al. 2022): invariance + variance + covariance regularisation."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.core import distributed
from selfsup.core.objectives import _validation as check
from selfsup.core.objectives._cross_correlation import frobenius_sq_of_cross


def _variance_term(z: torch.Tensor, eps: float) -> torch.Tensor:
    std = torch.sqrt(z.var(dim=0) + eps)
    return F.relu(1 - std).mean()


def _covariance_term(z: torch.Tensor) -> torch.Tensor:
    """Sum of squared off-diagonal covariances / D (through the N x N Gram when 2N < D)."""
    z = z - z.mean(dim=0)
    scale = 1.0 / (z.shape[0] - 1)
    diagonal = z.pow(2).sum(dim=0) * scale
    return (frobenius_sq_of_cross(z, z) * scale**2 - diagonal.pow(2).sum()) / z.shape[1]


def vicreg(z1: torch.Tensor, z2: torch.Tensor, *, sim_weight: float = 25.0,
           var_weight: float = 25.0, cov_weight: float = 1.0, eps: float = 1e-4,
           gather: bool = False) -> torch.Tensor:
    """VICReg loss.

    Args:
        z1, z2: ``(B, D)`` expander outputs of two views.
        sim_weight, var_weight, cov_weight: the paper's lambda, mu, nu.
        eps: added to the variance before the square root.
        gather: under DDP, variance and covariance span the batch of all ranks (exact);
            the invariance term is a per-sample mean and stays local.

    Returns:
        Scalar ``sim * MSE(z1, z2) + var * (v(z1) + v(z2)) / 2 + cov * (c(z1) + c(z2))``.
    """
    check.require_pair("z1", z1, "z2", z2, 2)
    check.require_batch("vicreg", z1.shape[0], 2, gather, "the batch variance needs 2 rows")
    check.require_finite(z1=z1, z2=z2)

    z1, z2 = check.upcast(z1), check.upcast(z2)
    invariance = F.mse_loss(z1, z2)
    if gather:
        z1, z2 = distributed.gather(z1), distributed.gather(z2)
    variance = 0.5 * (_variance_term(z1, eps) + _variance_term(z2, eps))
    covariance = _covariance_term(z1) + _covariance_term(z2)
    return sim_weight * invariance + var_weight * variance + cov_weight * covariance


class VICRegLoss(nn.Module):
    """Module form of :func:`vicreg`."""

    def __init__(self, sim_weight: float = 25.0, var_weight: float = 25.0,
                 cov_weight: float = 1.0, eps: float = 1e-4, gather: bool = False) -> None:
        super().__init__()
        self.sim_weight, self.var_weight, self.cov_weight = sim_weight, var_weight, cov_weight
        self.eps, self.gather = eps, gather

    def forward(self, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        return vicreg(z1, z2, sim_weight=self.sim_weight, var_weight=self.var_weight,
                      cov_weight=self.cov_weight, eps=self.eps, gather=self.gather)
