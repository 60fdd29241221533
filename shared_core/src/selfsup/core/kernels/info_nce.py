"""Fused InfoNCE family on :func:`contrastive_lse`: same signatures and values as the objectives,
memory linear in the batch.

One-directional and symmetric InfoNCE (the symmetric loss takes the row and column
log-sum-exp from one pass when nothing is gathered), extra negatives such as a MoCo queue,
and SimCLR's 2N form with the self-similarity left out (on one rank through the symmetric logits' upper
triangle, :func:`self_contrastive_lse`). ``gather=True`` gathers keys across
ranks with the differentiable all-gather, so gradients return to their owners. Their prologue,
:func:`unit_pair`, is PyTorch ops on every backend (a fused Triton prologue, never timed on a GPU, is in
``benchmarks/kernels/experimental/``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from selfsup.core import distributed
from selfsup.core.kernels.contrastive_lse import Backend, contrastive_lse
from selfsup.core.kernels.self_lse import self_contrastive_lse
from selfsup.core.objectives import _validation as check


def positive_logits(a_hat: torch.Tensor, b_hat: torch.Tensor, scale: float) -> torch.Tensor:
    """``scale * a_i . b_i`` in fp32 for half-precision inputs, in the inputs' dtype otherwise (float64 stays)."""
    return (check.upcast(a_hat) * check.upcast(b_hat)).sum(dim=1) * scale


def unit_pair(a: torch.Tensor, b: torch.Tensor, scale: float, names: tuple[str, str] = ("a", "b"), *,
              backend: Backend = "auto", stacked: bool = False):
    """Unit rows of two views (``F.normalize``) and their positive logits, naming an input holding NaN or inf:
    ``(a_hat (B, D), b_hat (B, D), positive (B,))``, or with ``stacked`` ``(units (2B, D), positive (B,))``. The unit
    rows keep the inputs' dtype; ``positive`` (``scale * a_hat_i . b_hat_i`` from the rounded unit vectors) is fp32
    for half-precision inputs.

    Args:
        a: ``(B, D)`` one view of the samples.
        b: ``(B, D)`` the other view (same shape; checked by the caller).
        scale: multiplier of the positive dot products (``1 / temperature``).
        names: the inputs' names in the error raised for NaN or inf.
        backend: as in :func:`.contrastive_lse.contrastive_lse` (the same PyTorch ops on each).
        stacked: return the unit rows as one ``(2B, D)`` tensor, ``a_hat`` above ``b_hat`` (SimCLR's 2N form).
    """
    check.require_finite(**{names[0]: a, names[1]: b})
    a_hat, b_hat = F.normalize(a, dim=1), F.normalize(b, dim=1)
    positive = positive_logits(a_hat, b_hat, scale)
    return (torch.cat([a_hat, b_hat]), positive) if stacked else (a_hat, b_hat, positive)


def info_nce(query: torch.Tensor, key: torch.Tensor, temperature: float = 0.1, *, symmetric: bool = False,
             negatives: torch.Tensor | None = None, normalize: bool = True, gather: bool = False,
             backend: Backend = "auto") -> torch.Tensor:
    """Fused :func:`selfsup.core.objectives.info_nce` (same arguments, plus ``backend``)."""
    check.require_contrastive("info_nce", ("query", "key"), query, key, temperature, gather, negatives)
    if negatives is not None:  # the pair's finiteness is checked where it is normalised (unit_pair)
        check.require_finite(negatives=negatives)
    scale = 1.0 / temperature
    if normalize:
        q, k, positive = unit_pair(query, key, scale, ("query", "key"), backend=backend)
    else:
        check.require_finite(query=query, key=key)
        q, k, positive = query, key, positive_logits(query, key, scale)
    neg = None
    if negatives is not None:
        neg = F.normalize(negatives, dim=1) if normalize else negatives
        neg = neg.to(q.dtype)
    gathering = gather and distributed.is_distributed()
    bounded = {"backend": backend, "max_logit": scale if normalize else None}  # |cosine| <= 1

    def with_negatives(lse: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        return lse if neg is None else torch.logaddexp(lse, contrastive_lse(rows, neg, scale, **bounded))

    if symmetric and not gathering:
        lse_q, lse_k = contrastive_lse(q, k, scale, columns=True, **bounded)
        return 0.5 * ((with_negatives(lse_q, q) - positive).mean() + (with_negatives(lse_k, k) - positive).mean())
    k_all = distributed.gather(k) if gathering else k
    loss = (with_negatives(contrastive_lse(q, k_all, scale, **bounded), q) - positive).mean()
    if symmetric:
        q_all = distributed.gather(q)
        lse_k = with_negatives(contrastive_lse(k, q_all, scale, **bounded), k)
        loss = 0.5 * (loss + (lse_k - positive).mean())
    return loss


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5, *, gather: bool = False,
            backend: Backend = "auto") -> torch.Tensor:
    """Fused :func:`selfsup.core.objectives.nt_xent` (SimCLR's 2N form), plus ``backend``."""
    check.require_contrastive("nt_xent", ("z1", "z2"), z1, z2, temperature, gather)
    scale = 1.0 / temperature
    b = z1.shape[0]
    queries, positive = unit_pair(z1, z2, scale, ("z1", "z2"), backend=backend, stacked=True)
    if gather and distributed.is_distributed():
        keys = torch.cat([distributed.gather(queries[:b]), distributed.gather(queries[b:])])
        n, start = keys.shape[0] // 2, distributed.rank() * b
        rows = torch.arange(b, device=z1.device) + start
        lse = contrastive_lse(queries, keys, scale, exclude=torch.cat([rows, rows + n]), backend=backend,
                              max_logit=scale)  # unit vectors: |logit| <= scale
    else:  # keys = queries: the logits are symmetric, half of them suffice
        lse = self_contrastive_lse(queries, scale, backend=backend, max_logit=scale)
    return lse.mean() - positive.mean()  # the mean over 2B rows of lse_i - positive (the same one for both views)
