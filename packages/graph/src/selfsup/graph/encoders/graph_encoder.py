"""Graph-level encoder: a node encoder followed by a global pooling over each graph of a batch."""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import global_add_pool, global_max_pool, global_mean_pool

from selfsup.graph.encoders.gnn import NodeEncoder

POOLINGS = {"sum": global_add_pool, "mean": global_mean_pool, "max": global_max_pool}


class GraphEncoder(nn.Module):
    """``forward(x (N, F), edge_index (2, E), batch (N,)) -> (G, out_dim)``: pooled node embeddings,
    one row per graph (``batch`` maps each node to its graph, as in a PyG ``Batch``)."""

    def __init__(self, node_encoder: NodeEncoder, pooling: str = "sum") -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}; choose from {sorted(POOLINGS)}")
        self.node_encoder, self.pooling = node_encoder, pooling
        self.out_dim = node_encoder.out_dim

    def node_embeddings(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return self.node_encoder(x, edge_index)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, batch: torch.Tensor | None = None) -> torch.Tensor:
        h = self.node_encoder(x, edge_index)
        if batch is None:
            batch = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
        return POOLINGS[self.pooling](h, batch)


def pooled_gnn(in_dim: int, pooling: str = "sum", **node_kwargs) -> GraphEncoder:
    """A :class:`GraphEncoder` built from plain arguments (``NodeEncoder``'s, plus ``pooling``): what the registry's
    ``gnn_pooled`` creates, so ``save_pretrained``/``load_pretrained`` can rebuild it."""
    return GraphEncoder(NodeEncoder(in_dim=in_dim, **node_kwargs), pooling)
