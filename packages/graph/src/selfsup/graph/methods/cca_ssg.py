"""CCA-SSG (Zhang et al. 2021): canonical-correlation objective between two augmented graph views."""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.data import Data

from selfsup.graph.methods._graph_batch import augmented_view, unpack


def cca_ssg_loss(h1: torch.Tensor, h2: torch.Tensor, lambd: float = 1e-3) -> torch.Tensor:
    """``-tr(Z1^T Z2) + lambd (||Z1^T Z1 - I||_F^2 + ||Z2^T Z2 - I||_F^2)`` with ``Z = standardise(H) / sqrt(N)``
    per feature: invariance between the views plus decorrelation of each view's features. ``h1, h2 (N, D)``."""
    if h1.shape != h2.shape or h1.dim() != 2 or h1.shape[0] < 2:
        raise ValueError(f"h1 and h2 must both be (N >= 2, D), got {tuple(h1.shape)} and {tuple(h2.shape)}")
    n, d = h1.shape
    z1 = (h1 - h1.mean(0)) / h1.std(0).clamp_min(1e-8) / n**0.5
    z2 = (h2 - h2.mean(0)) / h2.std(0).clamp_min(1e-8) / n**0.5
    eye = torch.eye(d, device=h1.device, dtype=z1.dtype)
    invariance = -torch.trace(z1.T @ z2)
    decorrelation = (eye - z1.T @ z1).pow(2).sum() + (eye - z2.T @ z2).pow(2).sum()
    return invariance + lambd * decorrelation


class CCASSG(nn.Module):
    """Two views (edge dropping + feature masking), a shared GNN whose outputs are standardised per
    feature, and :func:`cca_ssg_loss`; no projector, negatives or teacher (cost linear in N)."""

    def __init__(self, encoder: nn.Module, *, lambd: float = 1e-3, drop_edge: tuple[float, float] = (0.4, 0.4),
                 mask_feature: tuple[float, float] = (0.1, 0.1)) -> None:
        super().__init__()
        self.encoder, self.lambd, self.drop_edge, self.mask_feature = encoder, lambd, drop_edge, mask_feature

    def forward(self, batch: Data) -> dict[str, torch.Tensor]:
        x, edge_index, seeds = unpack(batch)
        h = [self.encoder(*augmented_view(x, edge_index, de, mf))[:seeds].float()
             for de, mf in zip(self.drop_edge, self.mask_feature, strict=True)]
        return {"loss": cca_ssg_loss(h[0], h[1], self.lambd)}
