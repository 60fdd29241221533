"""A user's graph from files: an edge list (``edges.csv`` in a folder, or one CSV/TSV/TXT file; SNAP-style
whitespace-separated lists with ``#`` comments too) and, optionally, ``nodes.csv``/``nodes.parquet`` (an id column,
feature columns, an optional ``label``). Node ids may be any strings or integers: they are mapped to ``0..N-1`` in the
order nodes.csv lists them, then by first appearance in the edges, and the mapping is kept for ``embed``.

What is wrong is handled and reported, never a ``KeyError`` later: an edge row without two ids or with an id that
nodes.csv lacks is skipped and recorded; self-loops and repeated edges are removed and counted; the graph is made
undirected; NaN features become their column's mean (counted). Without feature columns, every node gets
:data:`STRUCTURAL_FEATURES`, standardised."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import Data
from torch_geometric.utils import coalesce, degree, remove_self_loops, scatter, to_undirected

EDGE_NAMES = ("edges.csv", "edges.tsv", "edges.txt", "edges.parquet")
NODE_NAMES = ("nodes.csv", "nodes.tsv", "nodes.parquet")
EDGE_SUFFIXES = (".csv", ".tsv", ".txt", ".edges", ".edgelist", ".parquet")
HEADER_WORDS = {"source", "target", "src", "dst", "from", "to", "u", "v", "node1", "node2", "id1", "id2", "weight",
                "head", "tail"}
STRUCTURAL_FEATURES = ("log_degree", "mean_neighbour_log_degree", "max_neighbour_log_degree",
                       "min_neighbour_log_degree")


@dataclass
class GraphFiles:
    """``data``: ``x (N, F)`` float32, ``edge_index (2, E)`` (undirected, no self-loops or repeats), ``y (N,)``
    (-1 = no label) when nodes.csv has a ``label`` column; ``ids``: node id strings by index; ``root``: the edge
    file's folder; ``classes``: label
    names; ``features``: feature names; ``skipped``: skip records; ``notes``: what was changed, one line each."""

    data: Data
    ids: list[str]
    root: Path  # the edge file's folder
    classes: list[str] = field(default_factory=list)
    features: list[str] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def find_graph_files(path: str | Path) -> tuple[Path, Path | None]:
    """``(edge file, node file or None)`` of a folder or an edge-list file; one line naming what is missing."""
    path = Path(path).expanduser()
    if path.is_file():
        if not path.name.lower().endswith(EDGE_SUFFIXES):
            raise ValueError(f"{path}: not an edge list (expected {', '.join(EDGE_SUFFIXES)})")
        return path, None
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such file or folder")
    edges = next((path / n for n in EDGE_NAMES if (path / n).is_file()), None)
    if edges is None:
        raise ValueError(f"{path}: no {' / '.join(EDGE_NAMES)} in this folder (two columns of node ids)")
    return edges, next((path / n for n in NODE_NAMES if (path / n).is_file()), None)


def _read_table(path: Path, header_words: set[str] | None = None) -> pd.DataFrame:
    """Every cell as text. A CSV's delimiter is sniffed (whitespace when the first line has none of ``, TAB ; |``);
    its first line is a header unless it looks like data (an edge list whose first line holds no header word and
    whose second field is an integer)."""
    if path.suffix.lower() == ".parquet":
        return pd.read_parquet(path).astype("string")
    with open(path, encoding="utf-8", errors="replace") as handle:
        lines = [line for line in (handle.readline() for _ in range(50)) if line and not line.startswith(("#", "%"))]
    if not lines:
        raise ValueError(f"{path}: empty")
    first = lines[0]
    sep = "\t" if path.suffix.lower() == ".tsv" else next((d for d in (",", "\t", ";", "|") if d in first), None)
    if sep is None:
        try:
            sep = csv.Sniffer().sniff("".join(lines), delimiters=",\t;|").delimiter
        except csv.Error:
            sep = r"\s+"
    fields = [f.strip().strip('"').lower() for f in (first.split() if sep == r"\s+" else first.split(sep))]
    has_header = True
    if header_words is not None:
        looks_numeric = len(fields) > 1 and fields[1].lstrip("-").isdigit()
        has_header = bool(set(fields) & header_words) or not looks_numeric
    return pd.read_csv(path, sep=sep, header=0 if has_header else None, dtype=str, comment="#", keep_default_na=False,
                       engine="python" if sep == r"\s+" else "c", encoding_errors="replace", skipinitialspace=True,
                       on_bad_lines="skip")


def read_graph(path: str | Path) -> GraphFiles:
    """The graph under ``path`` (see the module's doc)."""
    edge_file, node_file = find_graph_files(path)
    edges = _read_table(edge_file, HEADER_WORDS)
    if edges.shape[1] < 2:
        raise ValueError(f"{edge_file}: expected two columns of node ids, found {edges.shape[1]}")
    src, dst = (edges.iloc[:, k].astype("string").str.strip() for k in (0, 1))
    skipped, notes = [], []
    blank = (src.fillna("") == "") | (dst.fillna("") == "")
    skipped += [{"item": f"{edge_file.name} row {i}", "reason": "fewer than two node ids", "stage": "scan"}
                for i in np.flatnonzero(blank.to_numpy())]
    nodes = _read_table(node_file) if node_file is not None else None
    known = nodes.iloc[:, 0].astype("string").str.strip() if nodes is not None else pd.Series([], dtype="string")
    if nodes is not None and known.duplicated().any():
        raise ValueError(f"{node_file}: node ids repeat (e.g. {known[known.duplicated()].iloc[0]!r})")
    keep = ~blank
    if nodes is not None:
        known_set = set(known)
        unknown = keep & ~(src.isin(known) & dst.isin(known))
        for i in np.flatnonzero(unknown.to_numpy()):
            missing = src.iloc[i] if src.iloc[i] not in known_set else dst.iloc[i]
            skipped.append({"item": f"{edge_file.name} row {i}", "reason": f"node {missing!r} is not in "
                            f"{node_file.name}", "stage": "scan"})
        keep &= ~unknown
    codes, ids = pd.factorize(pd.concat([known, src[keep], dst[keep]], ignore_index=True))
    n_known, n_edges = len(known), int(keep.sum())
    ids = [str(i) for i in ids]
    edge_index = torch.from_numpy(np.stack([codes[n_known: n_known + n_edges],
                                            codes[n_known + n_edges:]]).astype(np.int64))
    num_nodes = len(ids)
    if num_nodes == 0 or edge_index.shape[1] == 0:
        raise ValueError(f"{edge_file}: no usable edges")
    before = edge_index.shape[1]
    edge_index, _ = remove_self_loops(edge_index)
    if edge_index.shape[1] < before:
        notes.append(f"{before - edge_index.shape[1]} self-loops removed")
    directed = coalesce(edge_index, num_nodes=num_nodes)
    if directed.shape[1] < edge_index.shape[1]:
        notes.append(f"{edge_index.shape[1] - directed.shape[1]} repeated edges removed")
    edge_index = to_undirected(directed, num_nodes=num_nodes)
    isolated = int((degree(edge_index[0], num_nodes) == 0).sum())
    if isolated:
        notes.append(f"{isolated} nodes have no edge (kept)")
    data = Data(edge_index=edge_index, num_nodes=num_nodes)
    classes, features = [], []
    if nodes is not None:
        x, features, labels, classes, feature_notes = _node_columns(nodes, num_nodes)
        notes += feature_notes
        if labels is not None:
            data.y = labels
    else:
        x = None
    if x is None:
        x, features = structural_features(edge_index, num_nodes), list(STRUCTURAL_FEATURES)
        notes.append(f"no feature columns: structural features {', '.join(STRUCTURAL_FEATURES)}")
    data.x = x
    return GraphFiles(data, ids, edge_file.parent, classes, features, skipped, notes)


def _node_columns(nodes: pd.DataFrame, num_nodes: int):
    """``(x or None, feature names, labels or None, classes, notes)`` from nodes.csv (its rows are nodes 0..)."""
    notes, columns = [], [c for c in nodes.columns[1:] if str(c).lower() != "label"]
    labels, classes = None, []
    label_column = next((c for c in nodes.columns[1:] if str(c).lower() == "label"), None)
    if label_column is not None:
        text = nodes[label_column].astype("string").str.strip()
        codes, levels = pd.factorize(text.where(text != ""), sort=True)
        labels = torch.full((num_nodes,), -1, dtype=torch.long)
        labels[: len(codes)] = torch.from_numpy(codes.astype(np.int64))
        classes = [str(v) for v in levels]
    numeric, dropped = {}, []
    for column in columns:
        values = pd.to_numeric(nodes[column].astype("string").str.strip().replace("", pd.NA), errors="coerce")
        present = (nodes[column].astype("string").str.strip() != "").sum()
        if present and values.notna().sum() >= 0.95 * present:
            numeric[str(column)] = values.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            dropped.append(str(column))
    if dropped:
        notes.append(f"feature columns that are not numbers left out: {', '.join(dropped)}")
    if not numeric:
        return None, [], labels, classes, notes
    x = np.zeros((num_nodes, len(numeric)), dtype=np.float64)
    x[: len(nodes)] = np.stack(list(numeric.values()), axis=1)
    holes = np.isnan(x[: len(nodes)])
    if holes.any():
        means = np.nan_to_num(np.nanmean(np.where(holes, np.nan, x[: len(nodes)]), axis=0))
        x[: len(nodes)] = np.where(holes, means, x[: len(nodes)])
        counts = {name: int(holes[:, j].sum()) for j, name in enumerate(numeric) if holes[:, j].any()}
        notes.append(f"missing or non-finite features set to the column mean: {counts}")
    return torch.from_numpy(x).float(), list(numeric), labels, classes, notes


def structural_features(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """``(N, 4)`` standardised :data:`STRUCTURAL_FEATURES` from the degrees (0 for a node without neighbours)."""
    log_degree = torch.log1p(degree(edge_index[0], num_nodes))
    neighbour = log_degree[edge_index[0]]
    columns = [log_degree] + [scatter(neighbour, edge_index[1], dim_size=num_nodes, reduce=r)
                              for r in ("mean", "max", "min")]
    x = torch.stack(columns, dim=1)
    return (x - x.mean(0)) / x.std(0).clamp_min(1e-6)
