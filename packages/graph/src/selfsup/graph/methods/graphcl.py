"""GraphCL (You et al. 2020): graph-level contrast between two augmented views of each graph."""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.data import Batch

from selfsup.core import kernels
from selfsup.graph.augment import drop_edges, drop_nodes, mask_features
from selfsup.graph.datasets.checks import check_graph

AUGMENTATIONS = ("drop_nodes", "drop_edges", "mask_features", "identity")


class GraphCL(nn.Module):
    """Each view of a batch applies one augmentation drawn from ``augmentations`` (node dropping, edge
    perturbation, attribute masking, identity; strength ``aug_strength``), a graph encoder pools the nodes,
    a two-layer projection follows, and InfoNCE contrasts every graph with the other view's graphs
    (GraphCL's one-directional loss, on the core's fused kernel).

    Batches: ``torch_geometric.data.Batch`` of graphs (``x``, ``edge_index``, ``batch``).
    """

    def __init__(self, encoder: nn.Module, *, proj_dim: int = 128, temperature: float = 0.2,
                 aug_strength: float = 0.2, augmentations: tuple[str, ...] = AUGMENTATIONS[:3]) -> None:
        super().__init__()
        unknown = [a for a in augmentations if a not in AUGMENTATIONS]
        if unknown or not augmentations:
            raise ValueError(f"unknown augmentations {unknown or augmentations}; choose from {AUGMENTATIONS}")
        self.encoder, self.temperature, self.aug_strength, self.augmentations = (
            encoder, temperature, aug_strength, tuple(augmentations))
        d = encoder.out_dim
        self.projector = nn.Sequential(nn.Linear(d, proj_dim), nn.ReLU(), nn.Linear(proj_dim, proj_dim))

    def _view(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        x, edge_index, p = batch.x, batch.edge_index, self.aug_strength
        kind = self.augmentations[int(torch.randint(len(self.augmentations), (1,)))]
        if kind == "drop_nodes":
            return x, drop_nodes(edge_index, batch.num_nodes, p)
        if kind == "drop_edges":
            return x, drop_edges(edge_index, p)
        if kind == "mask_features":
            return mask_features(x, p), edge_index
        return x, edge_index

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        check_graph(batch, "training batch")
        if getattr(batch, "batch", None) is None or batch.num_graphs < 2:
            raise ValueError("GraphCL needs a Batch of at least 2 graphs (negatives are the other graphs)")
        z = [self.projector(self.encoder(*self._view(batch), batch.batch)) for _ in range(2)]
        return {"loss": kernels.info_nce(z[0], z[1], self.temperature)}
