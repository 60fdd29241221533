"""RankMe (Garrido et al. 2023): the effective rank of an embedding matrix."""

from __future__ import annotations

import torch


def rankme(embeddings: torch.Tensor, eps: float = 1e-7) -> float:
    """``exp(entropy(p))`` with ``p = sigma / ||sigma||_1 + eps`` over the singular values.

    Args:
        embeddings: ``(N, D)`` features of N samples.
    Returns:
        A float in ``[1, min(N, D)]`` (up to eps): ~1 for collapsed embeddings, ~min(N, D)
        for isotropic ones.
    """
    if embeddings.dim() != 2 or min(embeddings.shape) < 1:
        raise ValueError(f"rankme needs a non-empty (N, D) matrix, got shape {tuple(embeddings.shape)}")
    x = embeddings.detach().double()
    if not bool(torch.isfinite(x).all()):
        raise ValueError("rankme: embeddings contain NaN or inf")
    if x.shape[0] > 2 * x.shape[1]:  # tall: singular values from the D x D Gram matrix, far cheaper than an SVD
        sigma = torch.linalg.eigvalsh(x.T @ x).clamp_min(0.0).sqrt()
    else:
        sigma = torch.linalg.svdvals(x)
    if float(sigma.sum()) == 0.0:
        return 1.0
    p = sigma / sigma.sum() + eps
    return float(torch.exp(-(p * torch.log(p)).sum()))
