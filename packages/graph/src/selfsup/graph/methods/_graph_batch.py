"""What every node-level method needs from a batch: the graph, checked, and the nodes its loss covers."""

from __future__ import annotations

import torch
from torch_geometric.data import Data

from selfsup.graph.augment import drop_edges, mask_features
from selfsup.graph.datasets.checks import check_graph


def unpack(batch: Data) -> tuple[torch.Tensor, torch.Tensor, int]:
    """``(x (N, F), edge_index (2, E), seeds)``. A full graph trains on all ``N`` nodes; a sampled
    neighbourhood (``NodeLoader`` batch) only on its first ``batch.batch_size`` nodes, the seeds."""
    check_graph(batch, "training batch")
    seeds = int(getattr(batch, "batch_size", None) or batch.num_nodes)
    return batch.x, batch.edge_index, seeds


def augmented_view(x: torch.Tensor, edge_index: torch.Tensor, drop_edge: float,
                   mask_feature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """GRACE/BGRL/CCA-SSG's view: drop edges with ``drop_edge``, zero feature columns with ``mask_feature``."""
    return mask_features(x, mask_feature), drop_edges(edge_index, drop_edge)
