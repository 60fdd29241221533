"""Entry point of the ``selfsup.plugins`` group: what ``selfsup list`` shows for graphs."""

from __future__ import annotations


def _bench(argv: list[str] | None = None):
    from selfsup.graph.bench import main

    return main(argv)


def _own_data():
    from selfsup.graph.own_data import GraphOwnData

    return GraphOwnData()


# The names of selfsup.graph.build's METHODS, registered without importing them (a test checks they agree):
# `selfsup --help` and `selfsup list` then load no PyG.
METHOD_NAMES = ('grace', 'bgrl', 'dgi', 'graphmae', 'cca_ssg', 'graphcl')


def register() -> None:
    """Register the graph encoders, methods, suite, own-data entry and export format."""
    from selfsup.core.registry import lazy, lazy_entries, register_package

    encoders = {"gnn_node": lazy("selfsup.graph.encoders:NodeEncoder"),
                "gnn_graph": lazy("selfsup.graph.encoders:GraphEncoder"),
                "gnn_pooled": lazy("selfsup.graph.encoders.graph_encoder:pooled_gnn")}
    register_package(encoders=encoders, methods=lazy_entries("selfsup.graph.build:METHODS", METHOD_NAMES),
                     method_prefix="graph_", bench=("graph", _bench), domain=("graph", _own_data),
                     exporters={"pyg": lazy("selfsup.graph.export:export_pyg", default_name="pyg.pt")},
                     example=("graph", lazy("selfsup.graph.export:example_graph")))
