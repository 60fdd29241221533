"""GRACE (Zhu et al. 2020): node-level contrast between two views with intra- and inter-view negatives."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Data

from selfsup.core import kernels
from selfsup.graph.methods._graph_batch import augmented_view, unpack


class GRACE(nn.Module):
    """Two views (edge dropping + feature-column masking with per-view rates), a shared GNN, a two-layer
    ELU projection, and NT-Xent over the 2N node embeddings: each node's positive is itself in the other
    view, its negatives every other node of both views (GRACE's loss exactly). The loss runs on the core's
    fused kernel (memory-lean chunked path on CPU, Triton on CUDA), so N is not limited by an N x N matrix.

    Batches: a full graph, or ``NodeLoader`` neighbourhoods (loss on the seed nodes).
    """

    def __init__(self, encoder: nn.Module, *, proj_dim: int = 128, temperature: float = 0.4,
                 drop_edge: tuple[float, float] = (0.2, 0.4), mask_feature: tuple[float, float] = (0.3, 0.4)) -> None:
        super().__init__()
        self.encoder, self.temperature = encoder, temperature
        self.drop_edge, self.mask_feature = drop_edge, mask_feature
        self.projector = nn.Sequential(nn.Linear(encoder.out_dim, proj_dim), nn.ELU(), nn.Linear(proj_dim, proj_dim))

    def forward(self, batch: Data) -> dict[str, torch.Tensor]:
        x, edge_index, seeds = unpack(batch)
        z = [self.projector(self.encoder(*augmented_view(x, edge_index, de, mf))[:seeds])
             for de, mf in zip(self.drop_edge, self.mask_feature, strict=True)]
        loss = kernels.nt_xent(z[0], z[1], self.temperature)
        with torch.no_grad():
            alignment = F.cosine_similarity(z[0], z[1]).mean()
        return {"loss": loss, "alignment": alignment}
