"""Graph augmentations on torch-geometric's utilities: edge dropping, feature masking, node dropping,
subgraph sampling, and the personalised-PageRank diffusion view of MVGRL.

All take and return plain tensors (``x (N, F)``, ``edge_index (2, E)``), so methods compose them
freely; randomness comes from torch's global generator (seeded by the trainer).
"""

from __future__ import annotations

import torch
from torch_geometric.data import Data
from torch_geometric.transforms import GDC
from torch_geometric.utils import dropout_edge, dropout_node, k_hop_subgraph, mask_feature, subgraph


def _check_p(name: str, p: float) -> None:
    if not 0.0 <= p < 1.0:
        raise ValueError(f"{name} must lie in [0, 1), got {p}")


def drop_edges(edge_index: torch.Tensor, p: float) -> torch.Tensor:
    """Remove each edge independently with probability ``p``: ``(2, E) -> (2, E')``."""
    _check_p("edge drop probability", p)
    return dropout_edge(edge_index, p=p, training=p > 0)[0]


def mask_features(x: torch.Tensor, p: float) -> torch.Tensor:
    """Zero each feature column with probability ``p``, the same columns for every node (GRACE):
    ``(N, F) -> (N, F)``."""
    _check_p("feature mask probability", p)
    return mask_feature(x, p=p, mode="col", training=p > 0)[0]


def drop_nodes(edge_index: torch.Tensor, num_nodes: int, p: float) -> torch.Tensor:
    """Drop each node with probability ``p`` by removing all its edges (GraphCL's node dropping;
    node ids and count stay, so features and pooling are unchanged): ``(2, E) -> (2, E')``."""
    _check_p("node drop probability", p)
    return dropout_node(edge_index, p=p, num_nodes=num_nodes, training=p > 0)[0]


def sample_subgraph(edge_index: torch.Tensor, num_nodes: int, keep: float = 0.8) -> tuple[torch.Tensor, torch.Tensor]:
    """GraphCL's subgraph view: grow hop by hop from a random node until ``keep * N`` nodes are
    reached (last hop subsampled); returns the induced ``edge_index`` (original ids) and the kept-node mask."""
    if not 0.0 < keep <= 1.0:
        raise ValueError(f"keep must lie in (0, 1], got {keep}")
    target = max(1, round(keep * num_nodes))
    seed = torch.randint(num_nodes, (1,), device=edge_index.device)
    kept = seed
    for hops in range(1, num_nodes + 1):
        reached = k_hop_subgraph(seed, hops, edge_index, num_nodes=num_nodes)[0]
        if reached.numel() >= target or reached.numel() == kept.numel():
            new = reached[~torch.isin(reached, kept)]
            kept = torch.cat([kept, new[torch.randperm(new.numel(), device=new.device)[: target - kept.numel()]]])
            break
        kept = reached
    mask = torch.zeros(num_nodes, dtype=torch.bool, device=edge_index.device)
    mask[kept] = True
    return subgraph(mask, edge_index, num_nodes=num_nodes)[0], mask


def ppr_diffusion(edge_index: torch.Tensor, num_nodes: int, alpha: float = 0.2,
                  top_k: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Personalised-PageRank diffusion ``alpha (I - (1 - alpha) D^-1/2 (A + I) D^-1/2)^-1``, sparsified to
    the ``top_k`` largest entries per column, through torch-geometric's ``GDC`` (exact, dense: for graphs
    of up to some 10^4 nodes). Returns ``(edge_index (2, E'), edge_weight (E',))``."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    gdc = GDC(self_loop_weight=1, normalization_in="sym", normalization_out="col",
              diffusion_kwargs={"method": "ppr", "alpha": alpha},
              sparsification_kwargs={"method": "topk", "k": min(top_k, num_nodes), "dim": 0}, exact=True)
    out = gdc(Data(edge_index=edge_index.cpu(), num_nodes=num_nodes))
    return out.edge_index.to(edge_index.device), out.edge_attr.float().to(edge_index.device)
