"""Entry point of the ``selfsup.plugins`` group: what ``selfsup list`` shows for graphs."""

from __future__ import annotations


def _bench(argv: list[str] | None = None):
    from selfsup.graph.bench import main

    return main(argv)


def register() -> None:
    from selfsup.core.registry import register_package
    from selfsup.graph import datasets
    from selfsup.graph.build import METHODS
    from selfsup.graph.encoders import GraphEncoder, NodeEncoder

    register_package(encoders={"gnn_node": NodeEncoder, "gnn_graph": GraphEncoder}, methods=METHODS,
                     method_prefix="graph_", bench=("graph", _bench),
                     datasets={"planetoid": datasets.load_planetoid, "tu": datasets.load_tu,
                               "ogb_node": datasets.load_ogb_node, "digits_knn_graph": datasets.digits_knn_graph,
                               "sbm_graph": datasets.sbm_graph,
                               "sbm_graph_classification": datasets.sbm_graph_classification})
