"""selfsup-graph: graph SSL on torch-geometric and the selfsup core.

Encoders (GCN/GAT/GIN node encoders, pooled graph encoders), augmentations (edge/node dropping, feature
masking, subgraphs, PPR diffusion), methods (GRACE, BGRL, DGI, GraphMAE, CCA-SSG, GraphCL), a pure-torch
neighbour sampler for PyG's ``NodeLoader``, datasets (Planetoid, TU, OGB-style, digits kNN graph, SBM),
probes and the suite ``selfsup bench graph``.
"""

from selfsup.graph.augment import drop_edges, drop_nodes, mask_features, ppr_diffusion, sample_subgraph
from selfsup.graph.build import METHODS, RECIPES, build_encoder, build_method
from selfsup.graph.datasets import (
    check_graph,
    digits_knn_graph,
    load_ogb_node,
    load_planetoid,
    load_tu,
    random_node_split,
    sbm_graph,
    sbm_graph_classification,
)
from selfsup.graph.encoders import GraphEncoder, NodeEncoder
from selfsup.graph.methods import BGRL, CCASSG, DGI, GRACE, GraphCL, GraphMAE, cca_ssg_loss, scaled_cosine_error
from selfsup.graph.pretrain import embed_graphs, embed_nodes, pretrain_graphs, pretrain_nodes
from selfsup.graph.probes import graph_probe, node_probe
from selfsup.graph.sampler import TorchNeighborSampler, neighbor_loader
from selfsup.graph.supervised import supervised_gcn

__all__ = [
    "BGRL", "CCASSG", "DGI", "GRACE", "METHODS", "RECIPES", "GraphCL", "GraphEncoder", "GraphMAE", "NodeEncoder",
    "TorchNeighborSampler", "build_encoder", "build_method", "cca_ssg_loss", "check_graph", "digits_knn_graph",
    "drop_edges", "drop_nodes", "embed_graphs", "embed_nodes", "graph_probe", "load_ogb_node", "load_planetoid",
    "load_tu", "mask_features", "neighbor_loader", "node_probe", "ppr_diffusion", "pretrain_graphs", "pretrain_nodes",
    "random_node_split", "sample_subgraph", "sbm_graph", "sbm_graph_classification", "scaled_cosine_error",
    "supervised_gcn",
]
