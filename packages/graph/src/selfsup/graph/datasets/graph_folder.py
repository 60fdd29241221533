"""A user's collection of small graphs: a folder in the TU layout (``NAME_A.txt``, ``NAME_graph_indicator.txt``, ...)
or a folder of edge-list files, one graph each (``*.csv``, ``*.tsv``, ``*.txt``, ``*.edges``, ``*.edgelist``; no
``edges.csv``). Graph-level methods (GraphCL) train on them; ``embed`` writes one row per graph. Node features: the
TU files' node labels, else one-hot degrees capped at ``max_degree`` (the usual protocol for featureless graphs),
so every graph has the same feature width. A file that cannot be read is skipped and named."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch_geometric.data import Data
from torch_geometric.utils import degree

from selfsup.graph.datasets.edge_list import EDGE_NAMES, EDGE_SUFFIXES, read_graph

MAX_DEGREE = 64


@dataclass
class GraphFolder:
    """``graphs``: one ``Data`` each (``x (n, F)``, ``edge_index``, ``y`` when labelled); ``ids`` name them."""

    graphs: list[Data]
    ids: list[str]
    classes: list[str] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)


def _tu_name(folder: Path) -> str | None:
    found = sorted(folder.glob("*_graph_indicator.txt")) + sorted(folder.glob("raw/*_graph_indicator.txt"))
    return found[0].name.removesuffix("_graph_indicator.txt") if found else None


def _edge_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(EDGE_SUFFIXES)
                  and not p.name.startswith("."))


def is_graph_folder(path: str | Path) -> bool:
    """A folder of many graphs (TU layout, or several edge lists and no ``edges.csv``), not one graph."""
    path = Path(path).expanduser()
    if not path.is_dir() or any((path / n).is_file() for n in EDGE_NAMES):
        return False
    return _tu_name(path) is not None or len(_edge_files(path)) >= 2


def one_hot_degree(data: Data, max_degree: int = MAX_DEGREE) -> torch.Tensor:
    """One-hot node degrees ``(N, max_degree + 1)``, the features of a graph that has none."""
    deg = degree(data.edge_index[0], data.num_nodes).long().clamp_max(max_degree)
    return torch.nn.functional.one_hot(deg, max_degree + 1).float()


def read_graph_folder(path: str | Path) -> GraphFolder:
    """The graphs of a folder of many small graphs (TU layout, or several edge lists)."""
    path = Path(path).expanduser()
    name = _tu_name(path)
    if name is not None:
        from selfsup.graph.datasets.tu import load_tu

        graphs = load_tu(path, name, max_degree=MAX_DEGREE)
        labels = sorted({int(g.y) for g in graphs if getattr(g, "y", None) is not None})
        for g in graphs:
            if getattr(g, "y", None) is not None:
                g.y = torch.tensor([labels.index(int(g.y))])
        return GraphFolder(graphs, [f"{name} graph {i}" for i in range(len(graphs))], [str(v) for v in labels])
    graphs, ids, skipped = [], [], []
    for file in _edge_files(path):
        try:
            graph = read_graph(file).data
        except Exception as err:  # a stranger's file: any reader error names it and skips it
            skipped.append({"item": file.name, "reason": f"{type(err).__name__}: {err}", "stage": "scan"})
            continue
        graphs.append(Data(x=one_hot_degree(graph), edge_index=graph.edge_index, num_nodes=graph.num_nodes))
        ids.append(file.name)
    if not graphs:
        raise ValueError(f"{path}: none of its edge-list files could be read")
    return GraphFolder(graphs, ids, [], skipped)
