"""``selfsup pretrain graph PATH``: a graph from an edge list (and optionally a node table), see
:mod:`selfsup.graph.datasets.edge_list`.

Defaults: GRACE with its Cora recipe's encoder (2-layer GCN, 512 wide, PReLU) and augmentations: contrastive, no
teacher, strong on citation-like and social graphs alike. A graph of up to ``--full-graph-nodes`` nodes (100,000) trains
on the whole graph, one step per epoch; a larger one on batches of ``--batch-size`` seed nodes with ``--fanout``
sampled neighbours per hop (PyG's ``NeighborLoader``, or the package's sampler without pyg-lib). ``embed`` writes one
row per node, named by its original id, from each node's whole receptive field (equal to a full-graph pass)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn

from selfsup.core import registry
from selfsup.core.data import ItemIndex, OwnData
from selfsup.core.own_data_cli import comma_list
from selfsup.graph.build import GRAPH_METHODS, NODE_METHODS, RECIPES, build_method
from selfsup.graph.datasets.edge_list import read_graph
from selfsup.graph.datasets.graph_folder import is_graph_folder, read_graph_folder
from selfsup.graph.datasets.graph_source import GraphListSource, GraphSource


class GraphOwnData(OwnData):
    """``selfsup pretrain graph PATH``: an edge list with optional node files, or a folder of small graphs."""
    name = "graph"
    what = "nodes"
    default_method = "grace"
    default_encoder = "gnn_node"
    data_options = {"fanout": [10, 10], "full_graph_nodes": 100_000, "mode": None, "features": None,  # noqa: RUF012
                    "classes": None, "level": None}

    def defaults_for(self, path) -> dict[str, Any]:
        return {"method": "graphcl", "encoder": "gnn_pooled"} if is_graph_folder(path) else {}

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        S = argparse.SUPPRESS
        parser.add_argument("--fanout", type=comma_list(int), default=S,
                            help="neighbours sampled per hop, one count per GNN layer (default 10,10)")
        parser.add_argument("--full-graph-nodes", type=int, default=S,
                            help="graphs up to this many nodes train whole, larger ones on sampled neighbourhoods "
                                 "(default 100000)")

    def open(self, path, options, *, cache, seed, replace_bad, progress):
        options = dict(options)
        if is_graph_folder(path):
            return self._open_graphs(path, options, seed, replace_bad)
        options["level"] = "node"
        graph = read_graph(path)
        for note in graph.notes:
            print(f"note: {note}", file=sys.stderr)
        if options.get("features") is not None and options["features"] != graph.features:
            raise ValueError(f"{path}: the encoder was trained on the features {options['features']}, these files "
                             f"have {graph.features}")
        nodes = graph.data.num_nodes
        options["features"], options["classes"] = graph.features, options.get("classes") or graph.classes
        if options.get("mode") is None:
            options["mode"] = "full" if nodes <= options["full_graph_nodes"] else "neighbours"
        columns = {"label": graph.data.y.tolist()} if getattr(graph.data, "y", None) is not None else {}
        index = ItemIndex(graph.ids, columns, classes=options["classes"],
                          meta={"source": str(path), "scan_skipped": len(graph.skipped)})
        mode = options["mode"] if replace_bad else "embed"
        source = GraphSource(graph.root, index, graph.data, mode, options["fanout"], seed=seed,
                             replace_bad=replace_bad)
        return source, options, graph.skipped

    def _open_graphs(self, path, options: dict[str, Any], seed: int, replace_bad: bool):
        """A folder of many graphs: one item per graph."""
        folder = read_graph_folder(path)
        self.what = "graphs"  # how messages and the summary count the items
        width = int(folder.graphs[0].x.shape[1])
        if options.get("features") is not None and len(options["features"]) != width:
            raise ValueError(f"{path}: the encoder was trained on {len(options['features'])} node features, these "
                             f"graphs have {width}")
        options.update(level="graph", mode="graphs", features=options.get("features") or
                       [f"feature {j}" for j in range(width)], classes=options.get("classes") or folder.classes)
        labels = [int(g.y) if getattr(g, "y", None) is not None else -1 for g in folder.graphs]
        index = ItemIndex(folder.ids, {"label": labels} if folder.classes else {}, classes=options["classes"],
                          meta={"source": str(path), "scan_skipped": len(folder.skipped)})
        source = GraphListSource(Path(path), index, folder.graphs, embed=not replace_bad, seed=seed,
                                 replace_bad=replace_bad)
        return source, options, folder.skipped

    def build(self, options, method, encoder, method_args, encoder_args) -> tuple[nn.Module, nn.Module]:
        method = method.removeprefix("graph_")
        if options.get("level") == "graph":
            if method not in GRAPH_METHODS or encoder != "gnn_pooled":
                raise ValueError(f"a folder of graphs trains a graph-level method ({', '.join(GRAPH_METHODS)}) on "
                                 f"the pooled encoder 'gnn_pooled'; got --method {method} --encoder {encoder}")
            kwargs = {**RECIPES[method]["encoder"], **encoder_args, "in_dim": len(options["features"])}
            net = registry.create_encoder("gnn_pooled", **kwargs)
            return net, build_method(method, net, **method_args)
        if method not in NODE_METHODS:
            raise ValueError(f"{method!r} is not a node-level method; a single graph trains with one of "
                             f"{', '.join(NODE_METHODS)}")
        if encoder != "gnn_node":
            raise ValueError(f"--encoder {encoder!r}: graphs train the GNN node encoder 'gnn_node' (set its kind, "
                             "width and depth with --encoder-args)")
        kwargs = {**RECIPES[method]["encoder"], **encoder_args, "in_dim": len(options["features"])}
        if kwargs.get("num_layers", 2) > len(options["fanout"]):
            raise ValueError(f"the encoder has {kwargs['num_layers']} layers but --fanout {options['fanout']} "
                             "gives fewer hops: one count per layer")
        net = registry.create_encoder("gnn_node", **kwargs)
        return net, build_method(method, net, **method_args)

    def embed(self, encoder: nn.Module, batch: dict[str, Any], options: dict[str, Any]) -> torch.Tensor:
        device = batch["index"].device
        graph = batch["graph"].to(device)
        if options.get("level") == "graph":
            return encoder(graph.x, graph.edge_index, graph.batch)
        return encoder(graph.x, graph.edge_index)[: graph.batch_size]

