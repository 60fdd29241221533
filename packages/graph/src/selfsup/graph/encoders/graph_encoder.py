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
        if torch.jit.is_tracing():  # ONNX export: the number of graphs must stay a value of the input
            return traceable_pool(h, batch, self.pooling)
        return POOLINGS[self.pooling](h, batch)


def traceable_pool(h: torch.Tensor, batch: torch.Tensor, pooling: str) -> torch.Tensor:
    """``(G, D)``: what PyG's global pooling gives, written with scatters into ``(N, D)`` and cut to the
    ``batch.max() + 1`` graphs, so a traced graph keeps the number of graphs dynamic (PyG's pools turn it into a
    Python int, frozen at the traced batch's)."""
    index = batch[:, None].expand_as(h)
    if pooling == "max":
        out = torch.full_like(h, float("-inf")).scatter_reduce(0, index, h, "amax", include_self=True)
    else:
        out = torch.zeros_like(h).scatter_add(0, index, h)
    if pooling == "mean":
        counts = torch.zeros_like(h[:, :1]).scatter_add(0, batch[:, None], torch.ones_like(h[:, :1]))
        out = out / counts.clamp(min=1)
    return out[: batch.max() + 1]


def pooled_gnn(in_dim: int, pooling: str = "sum", **node_kwargs) -> GraphEncoder:
    """A :class:`GraphEncoder` built from plain arguments (``NodeEncoder``'s, plus ``pooling``): what the registry's
    ``gnn_pooled`` creates, so ``save_pretrained``/``load_pretrained`` can rebuild it."""
    return GraphEncoder(NodeEncoder(in_dim=in_dim, **node_kwargs), pooling)
