"""selfsup-graph: graph SSL on torch-geometric and the selfsup core.

Encoders (GCN/GAT/GIN node encoders, pooled graph encoders), augmentations (edge/node dropping, feature
masking, subgraphs, PPR diffusion), methods (GRACE, BGRL, DGI, GraphMAE, CCA-SSG, GraphCL), a pure-torch
neighbour sampler for PyG's ``NodeLoader``, datasets (Planetoid, TU, OGB-style, digits kNN graph, SBM),
probes and the suite ``selfsup bench graph``.

Every public name is imported on first use (:mod:`selfsup.core.lazy_exports`).
"""

from selfsup.core.lazy_exports import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "augment": ["drop_edges", "drop_nodes", "mask_features", "ppr_diffusion", "sample_subgraph"],
    "build": ["METHODS", "RECIPES", "build_encoder", "build_method"],
    "datasets": [
        "check_graph", "digits_knn_graph", "load_ogb_node", "load_planetoid", "load_tu", "random_node_split",
        "sbm_graph", "sbm_graph_classification",
    ],
    "encoders": ["GraphEncoder", "NodeEncoder"],
    "methods": ["BGRL", "CCASSG", "DGI", "GRACE", "GraphCL", "GraphMAE", "cca_ssg_loss", "scaled_cosine_error"],
    "pretrain": ["embed_graphs", "embed_nodes", "pretrain_graphs", "pretrain_nodes"],
    "probes": ["graph_probe", "node_probe"],
    "sampler": ["TorchNeighborSampler", "neighbor_loader"],
    "supervised": ["supervised_gcn"],
})
