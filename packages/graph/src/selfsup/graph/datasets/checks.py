"""Graph validation with messages that name the problem (instead of a crash deep in a GNN layer)."""

from __future__ import annotations

import torch
from torch_geometric.data import Data


def check_graph(data: Data, where: str = "graph") -> Data:
    """Raise a ValueError naming ``where`` when ``data`` has no nodes, no features, a malformed or
    out-of-range ``edge_index``, or non-finite features; return ``data`` unchanged otherwise."""
    if data.num_nodes is None or data.num_nodes == 0:
        raise ValueError(f"{where}: the graph is empty (no nodes)")
    if data.x is None:
        raise ValueError(f"{where}: no node features (data.x); add e.g. degree or constant features")
    if data.x.dim() != 2 or data.x.shape[0] != data.num_nodes:
        raise ValueError(f"{where}: node features must be (num_nodes={data.num_nodes}, F), got {tuple(data.x.shape)}")
    if not data.x.is_floating_point():
        raise ValueError(f"{where}: node features must be floating point, got {data.x.dtype}")
    if not torch.isfinite(data.x).all():
        raise ValueError(f"{where}: node features contain NaN or inf")
    ei = data.edge_index
    if ei is None or ei.dim() != 2 or ei.shape[0] != 2:
        raise ValueError(f"{where}: edge_index must be (2, E), got {None if ei is None else tuple(ei.shape)}")
    if ei.numel() and (int(ei.min()) < 0 or int(ei.max()) >= data.num_nodes):
        raise ValueError(f"{where}: edge_index refers to node {int(ei.max())} (or a negative id) but the graph "
                         f"has {data.num_nodes} nodes")
    return data
