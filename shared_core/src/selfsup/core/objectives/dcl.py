"""Decoupled contrastive learning (Yeh et al. 2021): InfoNCE without the positive in the denominator.

DCLW weights the positive term by ``w_i = 2 - N * softmax_i(cos(z1_i, z2_i) / sigma)``
(negative von Mises-Fisher weighting), computed without gradient over the whole batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.core import distributed
from selfsup.core.objectives import _validation as check


def _dcl_direction(a: torch.Tensor, a_all: torch.Tensor, b_all: torch.Tensor,
                   positive: torch.Tensor, start: int, temperature: float,
                   weight: torch.Tensor | None) -> torch.Tensor:
    """Rows of ``a (B, D)`` against all views; positives ``(B,)`` are cos(a_i, b_i)."""
    rows = torch.arange(a.shape[0], device=a.device)
    own = rows + start
    logits = torch.cat([a @ a_all.T, a @ b_all.T], dim=1) / temperature  # (B, 2N)
    n = a_all.shape[0]
    logits[rows, own] = float("-inf")       # the view itself
    logits[rows, own + n] = float("-inf")   # its positive: decoupled from the denominator
    positive_term = -positive / temperature
    if weight is not None:
        positive_term = positive_term * weight
    return (positive_term + torch.logsumexp(logits, dim=1)).mean()


def dcl(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.1, *,
        sigma: float | None = None, gather: bool = False) -> torch.Tensor:
    """Symmetric decoupled contrastive loss; ``sigma`` turns on DCLW's positive weighting.

    Args:
        z1, z2: ``(B, D)`` embeddings of two views of the same samples.
        temperature: logits are ``cos / temperature``.
        sigma: DCLW weighting scale (None = unweighted DCL).
        gather: under DDP, negatives (and DCLW's softmax) span all ranks (exact).

    Returns:
        Scalar: ``0.5 * (L(z1, z2) + L(z2, z1))``, each a mean over the local rows.
    """
    check.require_contrastive("dcl", ("z1", "z2"), z1, z2, temperature, gather)
    if sigma is not None:
        check.require_positive("sigma", sigma)
    check.require_finite(z1=z1, z2=z2)

    z1, z2 = F.normalize(check.upcast(z1), dim=1), F.normalize(check.upcast(z2), dim=1)
    gathering = gather and distributed.is_distributed()
    z1_all = distributed.gather(z1) if gathering else z1
    z2_all = distributed.gather(z2) if gathering else z2
    start = distributed.rank() * z1.shape[0] if gathering else 0
    positive = (z1 * z2).sum(dim=1)  # (B,)
    weight = None
    if sigma is not None:
        with torch.no_grad():
            all_positive = (z1_all * z2_all).sum(dim=1)
            all_weight = 2 - all_positive.shape[0] * torch.softmax(all_positive / sigma, dim=0)
            weight = all_weight[start : start + z1.shape[0]]
    loss_12 = _dcl_direction(z1, z1_all, z2_all, positive, start, temperature, weight)
    loss_21 = _dcl_direction(z2, z2_all, z1_all, positive, start, temperature, weight)
    return 0.5 * (loss_12 + loss_21)


def dclw(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.1, *,
         sigma: float = 0.5, gather: bool = False) -> torch.Tensor:
    """DCL with von Mises-Fisher positive weighting (DCLW); see :func:`dcl`."""
    return dcl(z1, z2, temperature, sigma=sigma, gather=gather)


class DCLLoss(nn.Module):
    """Module form of :func:`dcl` (``sigma=None``) and :func:`dclw` (``sigma`` set)."""

    def __init__(self, temperature: float = 0.1, sigma: float | None = None,
                 gather: bool = False) -> None:
        super().__init__()
        self.temperature, self.sigma, self.gather = temperature, sigma, gather

    def forward(self, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        return dcl(z1, z2, self.temperature, sigma=self.sigma, gather=self.gather)


class DCLWLoss(DCLLoss):
    """DCLW: :class:`DCLLoss` with ``sigma=0.5`` by default."""

    def __init__(self, temperature: float = 0.1, sigma: float = 0.5, gather: bool = False) -> None:
        super().__init__(temperature, sigma, gather)
