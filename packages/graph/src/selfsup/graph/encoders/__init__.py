"""GNN encoders on torch-geometric layers: node-level (GCN/GAT/GIN) and graph-level (pooled)."""

from selfsup.graph.encoders.gnn import GNN_KINDS, NodeEncoder
from selfsup.graph.encoders.graph_encoder import POOLINGS, GraphEncoder

__all__ = ["GNN_KINDS", "POOLINGS", "GraphEncoder", "NodeEncoder"]
