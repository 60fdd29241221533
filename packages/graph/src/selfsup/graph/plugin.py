"""Entry point of the ``selfsup.plugins`` group: what ``selfsup list`` shows for graphs."""

from __future__ import annotations


def _bench(argv: list[str] | None = None):
    from selfsup.graph.bench import main

    return main(argv)


def _own_data():
    from selfsup.graph.own_data import GraphOwnData

    return GraphOwnData()


def register() -> None:
    from selfsup.core.registry import lazy, register_package
    from selfsup.graph.build import METHODS
    from selfsup.graph.encoders import GraphEncoder, NodeEncoder
    from selfsup.graph.encoders.graph_encoder import pooled_gnn

    register_package(encoders={"gnn_node": NodeEncoder, "gnn_graph": GraphEncoder, "gnn_pooled": pooled_gnn},
                     methods=METHODS,
                     method_prefix="graph_", bench=("graph", _bench), domain=("graph", _own_data),
                     exporters={"pyg": lazy("selfsup.graph.export:export_pyg", default_name="pyg.pt")},
                     example=("graph", lazy("selfsup.graph.export:example_graph")))
