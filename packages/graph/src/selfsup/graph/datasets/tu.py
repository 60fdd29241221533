"""TU graph-classification benchmarks (MUTAG, PROTEINS, IMDB-BINARY ...) from their published text files, read in
place by torch-geometric's text reader (no processed copy: nothing cached can go stale or be swapped)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch_geometric.data import InMemoryDataset
from torch_geometric.datasets import TUDataset
from torch_geometric.io import fs
from torch_geometric.io.tu import read_tu_data
from torch_geometric.utils import degree

from selfsup.core.cache import cache_dir
from selfsup.graph.datasets._files import find_raw_dir
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
    ``torch_geometric.io.read_tu_data`` from ``root/<name>/raw/<name>_A.txt``,
    ``<name>_graph_indicator.txt``, ``<name>_graph_labels.txt`` (+ optional node labels), as ``TUDataset`` reads
    them (node labels one-hot; continuous node and edge attributes left out).

    With ``download=True`` and no files, they are downloaded into ``$SELFSUP_CACHE/graph/tu-download`` first.
    Graphs without node features get one-hot degrees capped at ``max_degree`` (the usual protocol for the
    social-network sets).
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
        raw_dir = _download(name, required)
    dataset = _read(raw_dir, name)
    if len(dataset) == 0:
        raise ValueError(f"{name}: the dataset holds no graphs")
    graphs = list(dataset) if dataset.num_node_features > 0 else _degree_features(dataset, max_degree)
    for i, g in enumerate(graphs):
        if g.num_nodes == 0:
            raise ValueError(f"{name}: graph {i} is empty (no nodes)")
        check_graph(g, f"{name} graph {i}")
    return graphs


def _download(name: str, required: list[str]) -> Path:
    raw_dir = cache_dir("graph", "tu-download", name, "raw")
    if not all((raw_dir / f).is_file() for f in required):
        fs.cp(f"{TUDataset.url}/{name}.zip", str(raw_dir), extract=True)
        for file in (raw_dir / name).iterdir():
            file.replace(raw_dir / file.name)
    return raw_dir


def _read(raw_dir: Path, name: str) -> InMemoryDataset:
    try:
        data, slices, sizes = read_tu_data(str(raw_dir), name)
    except (ValueError, RuntimeError, IndexError) as err:
        raise ValueError(f"{name}: cannot read the files in {raw_dir} ({type(err).__name__}: {err})") from None
    if data.x is not None:
        data.x = data.x[:, sizes["num_node_attributes"]:]
        if data.x.size(1) == 0:
            data.x = None
    if data.edge_attr is not None:
        data.edge_attr = data.edge_attr[:, sizes["num_edge_attributes"]:]
        if data.edge_attr.size(1) == 0:
            data.edge_attr = None
    dataset = InMemoryDataset()
    dataset.data, dataset.slices = data, slices
    return dataset
