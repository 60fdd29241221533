"""InfoNCE: each query's positive is the key in the same row; the other keys are negatives.

Covers CPC/MoCo/CLIP-style losses: asymmetric (query -> key), symmetric (both directions,
as CLIP), and extra negatives such as a MoCo queue appended to every row's candidates.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.core import distributed
from selfsup.core.objectives import _validation as check


def _one_direction(
    query: torch.Tensor, keys: torch.Tensor, offset: int, temperature: float,
    negatives: torch.Tensor | None,
) -> torch.Tensor:
    """Mean cross-entropy of ``query (B, D)`` against ``keys (K, D)``; row i's target is ``offset + i``."""
    logits = query @ keys.T
    if negatives is not None:
        logits = torch.cat([logits, query @ negatives.T], dim=1)
    targets = torch.arange(query.shape[0], device=query.device) + offset
    return F.cross_entropy(logits / temperature, targets)


def info_nce(
    query: torch.Tensor,
    key: torch.Tensor,
    temperature: float = 0.1,
    *,
    symmetric: bool = False,
    negatives: torch.Tensor | None = None,
    normalize: bool = True,
    gather: bool = False,
) -> torch.Tensor:
    """InfoNCE loss of aligned pairs.

    Args:
        query: ``(B, D)`` embeddings; row i's positive is ``key[i]``.
        key: ``(B, D)`` embeddings.
        temperature: logits are ``cos / temperature`` (dot products when ``normalize=False``).
        symmetric: average with the key -> query direction (CLIP's loss).
        negatives: optional ``(M, D)`` extra negatives (e.g. a MoCo queue) for every row;
            not gathered across ranks.
        normalize: L2-normalise the embeddings first.
        gather: under DDP, contrast against the keys of all ranks (exact: same loss and
            gradients as one process on the whole batch).

    Returns:
        Scalar loss (float32 for half-precision inputs).
    """
    check.require_contrastive("info_nce", ("query", "key"), query, key, temperature, gather, negatives)
    check.require_finite(query=query, key=key, negatives=negatives)

    q, k = check.upcast(query), check.upcast(key)
    neg = check.upcast(negatives) if negatives is not None else None
    if normalize:
        q, k = F.normalize(q, dim=1), F.normalize(k, dim=1)
        neg = F.normalize(neg, dim=1) if neg is not None else None
    offset = distributed.rank() * q.shape[0] if gather and distributed.is_distributed() else 0
    k_all = distributed.gather(k) if gather else k
    loss = _one_direction(q, k_all, offset, temperature, neg)
    if symmetric:
        q_all = distributed.gather(q) if gather else q
        loss = 0.5 * (loss + _one_direction(k, q_all, offset, temperature, neg))
    return loss


class InfoNCELoss(nn.Module):
    """Module form of :func:`info_nce`; ``forward(query, key, negatives=None)``.

    ``backend``: ``auto`` (default) runs the fused linear-memory kernel (Triton on CUDA for large
    batches, chunked PyTorch otherwise), ``triton``/``chunked`` force one, ``reference`` the plain function above.
    """

    def __init__(self, temperature: float = 0.1, symmetric: bool = False,
                 normalize: bool = True, gather: bool = False, backend: str = "auto") -> None:
        super().__init__()
        self.temperature, self.symmetric = temperature, symmetric
        self.normalize, self.gather, self.backend = normalize, gather, backend

    def forward(self, query: torch.Tensor, key: torch.Tensor,
                negatives: torch.Tensor | None = None) -> torch.Tensor:
        kwargs = dict(symmetric=self.symmetric, negatives=negatives, normalize=self.normalize, gather=self.gather)
        if self.backend == "reference":
            return info_nce(query, key, self.temperature, **kwargs)
        from selfsup.core import kernels

        return kernels.info_nce(query, key, self.temperature, backend=self.backend, **kwargs)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, symmetric={self.symmetric}, gather={self.gather}"
