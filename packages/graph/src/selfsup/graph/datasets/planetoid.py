"""Planetoid citation graphs (Cora, CiteSeer, PubMed) from their published ``ind.<name>.*`` files.

The files are pickles. They are read as data, never as code: :func:`selfsup.core.data.load_restricted` builds only
SciPy sparse matrices, NumPy arrays and the graph's dict of lists, and refuses a file that names anything else.
The Planetoid repository publishes no checksums, so none is checked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Data, download_url
from torch_geometric.datasets import Planetoid
from torch_geometric.io.planetoid import edge_index_from_dict
from torch_geometric.utils import index_to_mask

from selfsup.core.cache import cache_dir
from selfsup.core.data.safe_pickle import load_restricted
from selfsup.graph.datasets._files import find_raw_dir
from selfsup.graph.datasets.checks import check_graph

PLANETOID_NAMES = ("Cora", "CiteSeer", "PubMed")
_SUFFIXES = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")


def load_planetoid(root: str | Path | None, name: str = "Cora", *, download: bool = False) -> Data:
    """One Planetoid graph with its public split (``train_mask`` 20 per class, ``val_mask`` 500,
    ``test_mask`` 1000), as ``torch_geometric.datasets.Planetoid`` builds it.

    ``root`` holds the eight raw files (``root/Cora/raw/ind.cora.x`` ...; ``root/raw`` or ``root`` itself
    also work); they are read in place, nothing is written. With ``download=True`` and no files, they are
    downloaded into ``$SELFSUP_CACHE/graph/planetoid-download`` first.
    """
    match = [n for n in PLANETOID_NAMES if n.lower() == name.lower()]
    if not match:
        raise ValueError(f"unknown Planetoid graph {name!r}; choose from {PLANETOID_NAMES}")
    name = match[0]
    files = [f"ind.{name.lower()}.{s}" for s in _SUFFIXES]
    how = (f"get them from the Planetoid repository (data/ind.{name.lower()}.*) or call "
           f"load_planetoid(root, {name!r}, download=True)")
    if root is None and not download:
        raise FileNotFoundError(f"{name}: no root given; {how}")
    try:
        raw_dir = find_raw_dir(Path(root), name, files, how) if root is not None else None
    except FileNotFoundError:
        if not download:
            raise
        raw_dir = None
    if raw_dir is None:
        raw_dir = cache_dir("graph", "planetoid-download", name, "raw")
        for file in files:
            if not (raw_dir / file).is_file():
                download_url(f"{Planetoid.url}/{file}", str(raw_dir), log=False)
    return check_graph(read_planetoid(raw_dir, name), str(raw_dir))


def _matrix(path: Path) -> torch.Tensor:
    value = load_restricted(path, encoding="latin1")
    value = value.toarray() if hasattr(value, "toarray") else value
    if not isinstance(value, np.ndarray) or value.ndim != 2:
        raise ValueError(f"{path}: expected a 2-D matrix, got {type(value).__name__} "
                         f"{getattr(value, 'shape', '')}")
    return torch.from_numpy(np.asarray(value, dtype=np.float32))


def read_planetoid(raw_dir: str | Path, name: str) -> Data:
    """The graph in ``raw_dir/ind.<name>.*``: features, labels, edges and the public split masks."""
    raw_dir, prefix = Path(raw_dir), name.lower()
    path = {s: raw_dir / f"ind.{prefix}.{s}" for s in _SUFFIXES}
    tx, allx, y, ty, ally = (_matrix(path[s]) for s in ("tx", "allx", "y", "ty", "ally"))
    graph = load_restricted(path["graph"], encoding="latin1")
    if not isinstance(graph, dict) or not all(isinstance(v, list) for v in graph.values()):
        raise ValueError(f"{path['graph']}: expected a dict of neighbour lists, got {type(graph).__name__}")
    try:
        test_index = torch.tensor([int(line) for line in path["test.index"].read_text().split()], dtype=torch.long)
    except ValueError as err:
        raise ValueError(f"{path['test.index']}: expected one node number a line ({err})") from None
    if test_index.numel() != tx.size(0) or tx.size(0) != ty.size(0):
        raise ValueError(f"{raw_dir}: {test_index.numel()} test indices for {tx.size(0)} test feature rows and "
                         f"{ty.size(0)} test label rows")
    sorted_test = test_index.sort()[0]
    if prefix == "citeseer":  # isolated test nodes have no row in tx/ty: insert zero rows for them
        span = int(test_index.max() - test_index.min()) + 1
        tx_ext, ty_ext = tx.new_zeros(span, tx.size(1)), ty.new_zeros(span, ty.size(1))
        tx_ext[sorted_test - test_index.min()], ty_ext[sorted_test - test_index.min()] = tx, ty
        tx, ty = tx_ext, ty_ext
    features = torch.cat([allx, tx])
    labels = torch.cat([ally, ty]).argmax(dim=1)
    if int(test_index.max()) >= features.size(0) or int(test_index.min()) < 0:
        raise ValueError(f"{path['test.index']}: node numbers outside 0..{features.size(0) - 1}")
    features[test_index], labels[test_index] = features[sorted_test], labels[sorted_test]
    n = labels.size(0)
    edge_index = edge_index_from_dict(graph, num_nodes=n)
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= n):
        raise ValueError(f"{path['graph']}: edges name nodes outside 0..{n - 1}")
    data = Data(x=features, edge_index=edge_index, y=labels)
    data.train_mask = index_to_mask(torch.arange(y.size(0)), size=n)
    data.val_mask = index_to_mask(torch.arange(y.size(0), min(y.size(0) + 500, n)), size=n)
    data.test_mask = index_to_mask(test_index, size=n)
    return data
