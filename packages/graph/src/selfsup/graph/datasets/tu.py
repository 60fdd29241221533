"""TU graph-classification benchmarks (MUTAG, PROTEINS, IMDB-BINARY ...) from their published text files."""

from __future__ import annotations

from pathlib import Path

import torch
from torch_geometric.datasets import TUDataset
from torch_geometric.utils import degree

from selfsup.graph.datasets._files import cache_dir, find_raw_dir, working_copy
from selfsup.graph.datasets.checks import check_graph


def _degree_features(dataset, max_degree: int) -> list:
    graphs = []
    for data in dataset:
        deg = degree(data.edge_index[0], data.num_nodes).long().clamp_max(max_degree)
        data.x = torch.nn.functional.one_hot(deg, max_degree + 1).float()
        graphs.append(data)
    return graphs


def load_tu(root: str | Path | None, name: str, *, download: bool = False, max_degree: int = 64) -> list:
    """The graphs of TU dataset ``name`` as a list of ``Data`` (``y`` the graph label), read by
    ``torch_geometric.datasets.TUDataset`` from ``root/<name>/raw/<name>_A.txt``,
    ``<name>_graph_indicator.txt``, ``<name>_graph_labels.txt`` (+ optional node labels/attributes).

    The files are copied to ``$SELFSUP_CACHE/graph/tu`` and processed there. Graphs without node features
    get one-hot degrees capped at ``max_degree`` (the usual protocol for the social-network sets).
    """
    required = [f"{name}_A.txt", f"{name}_graph_indicator.txt", f"{name}_graph_labels.txt"]
    how = (f"get {name}.zip from the TU Dortmund graph-kernel benchmark site and unzip it into {root}/{name}/raw, "
           f"or call load_tu(root, {name!r}, download=True)")
    try:
        if root is None:
            raise FileNotFoundError(f"{name}: no root given; {how}")
        raw_dir = find_raw_dir(Path(root), name, required, how)
    except FileNotFoundError:
        if not download:
            raise
        dataset = TUDataset(str(cache_dir("tu-download")), name)
        raw_dir = None
    if raw_dir is not None:
        files = sorted(p.name for p in raw_dir.iterdir() if p.is_file() and p.name.startswith(f"{name}_"))
        work = working_copy(raw_dir, files, "tu", name)
        dataset = TUDataset(str(work.parent), name)
    if len(dataset) == 0:
        raise ValueError(f"{name}: the dataset holds no graphs")
    graphs = list(dataset) if dataset.num_node_features > 0 else _degree_features(dataset, max_degree)
    for i, g in enumerate(graphs):
        if g.num_nodes == 0:
            raise ValueError(f"{name}: graph {i} is empty (no nodes)")
        check_graph(g, f"{name} graph {i}")
    return graphs
