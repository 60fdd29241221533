"""Node encoders: a stack of torch-geometric message-passing layers (GCN, GAT, GIN)."""

from __future__ import annotations

import warnings

import torch
from torch import nn
from torch_geometric.nn import GATConv, GCNConv, GINConv
from torch_geometric.nn.resolver import activation_resolver, normalization_resolver
from torch_geometric.utils import contains_self_loops, to_torch_csr_tensor

from selfsup.graph.encoders.sparse_linear import SparseInputLinear

GNN_KINDS = ("gcn", "gat", "gin")


def _conv(kind: str, in_dim: int, out_dim: int, heads: int, attn_dropout: float) -> nn.Module:
    if kind == "gcn":
        return GCNConv(in_dim, out_dim, cached=False)
    if kind == "gat":
        if out_dim % heads:
            raise ValueError(f"GAT width {out_dim} must be divisible by heads={heads}")
        return GATConv(in_dim, out_dim // heads, heads=heads, dropout=attn_dropout)
    if kind == "gin":
        return GINConv(nn.Sequential(nn.Linear(in_dim, out_dim), nn.BatchNorm1d(out_dim), nn.ReLU(),
                                     nn.Linear(out_dim, out_dim)), train_eps=False)
    raise ValueError(f"unknown GNN kind {kind!r}; choose from {GNN_KINDS}")


def gcn_graph(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """What GCNConv aggregates over fastest with the same result: the transposed adjacency ``adj_t (N, N)``
    in CSR (``adj_t[target, source] = 1``; one sparse x dense product instead of ``E x D`` messages), or
    the ``(2, E)`` edge list itself when it has self-loops or repeated edges (which the CSR form would
    merge, changing the degrees GCN normalises by), and when traced for ONNX (which has no sparse product)."""
    if torch.jit.is_tracing() or contains_self_loops(edge_index):
        return edge_index
    with warnings.catch_warnings():  # "sparse CSR support is in beta"
        warnings.simplefilter("ignore", UserWarning)
        adj_t = to_torch_csr_tensor(edge_index.flip(0), size=(num_nodes, num_nodes))
    return adj_t if adj_t._nnz() == edge_index.shape[1] else edge_index


class NodeEncoder(nn.Module):
    """``num_layers`` message-passing layers, each followed by norm, activation and dropout.

    ``forward(x (N, F), edge_index (2, E)) -> (N, out_dim)``; ``out_dim = hidden``, or
    ``hidden * num_layers`` with ``concat_layers=True`` (the jumping-knowledge concatenation that
    InfoGraph/GraphCL pool). GAT layers concatenate ``heads`` heads of ``hidden // heads`` channels.

    Args:
        kind: ``"gcn"``, ``"gat"`` or ``"gin"``.
        in_dim: node feature size ``F``.
        hidden: width of every layer.
        norm: ``None``, ``"batch_norm"``, ``"layer_norm"`` ... (torch-geometric's resolver).
        act: activation name (``"prelu"``, ``"relu"``, ``"elu"`` ...); ``act_last=False`` leaves
            the last layer linear.
        dropout: feature dropout before every layer; ``attn_dropout``: GAT attention dropout.
    """

    def __init__(self, kind: str, in_dim: int, hidden: int = 512, num_layers: int = 2, *, heads: int = 4,
                 norm: str | None = None, act: str = "prelu", act_last: bool = True, dropout: float = 0.0,
                 attn_dropout: float = 0.0, concat_layers: bool = False) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        if in_dim < 1:
            raise ValueError(f"in_dim must be >= 1, got {in_dim}")
        self.kind, self.in_dim, self.hidden, self.num_layers = kind, in_dim, hidden, num_layers
        self.concat_layers, self.act_last = concat_layers, act_last
        dims = [in_dim] + [hidden] * num_layers
        self.convs = nn.ModuleList(_conv(kind, dims[i], dims[i + 1], heads, attn_dropout) for i in range(num_layers))
        if kind in ("gcn", "gat"):  # sparse (bag-of-words) input features take a sparse x dense product
            self.convs[0].lin = SparseInputLinear.like(self.convs[0].lin)
        self.norms = nn.ModuleList(normalization_resolver(norm, hidden) if norm else nn.Identity()
                                   for _ in range(num_layers))
        self.acts = nn.ModuleList(activation_resolver(act) for _ in range(num_layers))
        self.dropout = nn.Dropout(dropout)
        self.out_dim = hidden * num_layers if concat_layers else hidden

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"node features must be (N, {self.in_dim}), got {tuple(x.shape)}")
        if edge_index.dim() != 2 or edge_index.shape[0] != 2:
            raise ValueError(f"edge_index must be (2, E), got {tuple(edge_index.shape)}")
        graph = gcn_graph(edge_index, x.shape[0]) if self.kind == "gcn" else edge_index
        layers = []
        for i, (conv, norm, act) in enumerate(zip(self.convs, self.norms, self.acts, strict=True)):
            x = conv(self.dropout(x), graph)
            if i < self.num_layers - 1 or self.act_last:
                x = act(norm(x))
            layers.append(x)
        return torch.cat(layers, dim=1) if self.concat_layers else x
