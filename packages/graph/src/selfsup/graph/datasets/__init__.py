"""Graph datasets: Planetoid, TU, OGB-style node sets, the embedded digits kNN graph, generated SBM graphs."""

from selfsup.graph.datasets.checks import check_graph
from selfsup.graph.datasets.digits_graph import digits_knn_graph
from selfsup.graph.datasets.ogb import load_ogb_node
from selfsup.graph.datasets.planetoid import PLANETOID_NAMES, load_planetoid
from selfsup.graph.datasets.splits import random_node_split
from selfsup.graph.datasets.synthetic import sbm_graph, sbm_graph_classification
from selfsup.graph.datasets.tu import load_tu

__all__ = [
    "PLANETOID_NAMES", "check_graph", "digits_knn_graph", "load_ogb_node", "load_planetoid", "load_tu",
    "random_node_split", "sbm_graph", "sbm_graph_classification",
]
