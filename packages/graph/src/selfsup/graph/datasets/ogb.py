"""OGB node-property datasets (ogbn-arxiv, ogbn-products ...) from their files, without the ``ogb`` package."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import Data
from torch_geometric.utils import to_undirected

from selfsup.graph.datasets.checks import check_graph


def _read(path: Path, dtype) -> np.ndarray:
    if not path.is_file():
        raise FileNotFoundError(f"missing {path}")
    try:
        return pd.read_csv(path, header=None, compression="infer").to_numpy(dtype=dtype)
    except (ValueError, pd.errors.ParserError, OSError, EOFError) as err:
        raise ValueError(f"cannot read {path}: {err}") from err


def load_ogb_node(root: str | Path, name: str = "ogbn-arxiv", *, split: str | None = None,
                  undirected: bool = True) -> Data:
    """An OGB node dataset in the layout the ``ogb`` package unpacks: ``root/ogbn_arxiv/raw/`` with
    ``edge.csv.gz`` (E x 2), ``node-feat.csv.gz`` (N x F), ``node-label.csv.gz`` (N x 1), and
    ``root/ogbn_arxiv/split/<split>/{train,valid,test}.csv.gz`` (node ids). ``split`` defaults to the
    only split folder. Returns ``Data`` with ``x``, ``edge_index`` (symmetrised unless
    ``undirected=False``), ``y`` and ``train_mask`` / ``val_mask`` / ``test_mask``.
    """
    folder = Path(root) / name.replace("-", "_")
    if not folder.is_dir() and Path(root).joinpath("raw").is_dir():
        folder = Path(root)
    raw = folder / "raw"
    if not raw.is_dir():
        raise FileNotFoundError(f"{name}: expected {raw}/edge.csv.gz, node-feat.csv.gz and node-label.csv.gz; "
                                f"download {name} with the ogb package (NodePropPredDataset) or from the OGB site")
    edges = _read(raw / "edge.csv.gz", np.int64)
    x = _read(raw / "node-feat.csv.gz", np.float32)
    y = _read(raw / "node-label.csv.gz", np.float64)
    if edges.ndim != 2 or edges.shape[1] != 2:
        raise ValueError(f"{raw / 'edge.csv.gz'}: expected two columns (source, target), got shape {edges.shape}")
    if len(y) != len(x):
        raise ValueError(f"{name}: {len(x)} feature rows but {len(y)} labels")
    n = len(x)
    edge_index = torch.from_numpy(edges.T.copy())
    if undirected:
        edge_index = to_undirected(edge_index, num_nodes=n)
    label = torch.from_numpy(np.nan_to_num(y[:, 0], nan=-1)).long()  # -1: unlabelled (products has none)
    data = Data(x=torch.from_numpy(x), edge_index=edge_index, y=label, num_nodes=n)
    splits = sorted(p for p in (folder / "split").glob("*") if p.is_dir())
    if split is not None:
        splits = [folder / "split" / split]
    if len(splits) != 1 or not splits[0].is_dir():
        raise FileNotFoundError(f"{name}: expected one split folder under {folder / 'split'} (or pass split=...), "
                                f"found {[p.name for p in splits]}")
    for part, key in (("train", "train_mask"), ("valid", "val_mask"), ("test", "test_mask")):
        ids = torch.from_numpy(_read(splits[0] / f"{part}.csv.gz", np.int64)[:, 0].copy())
        mask = torch.zeros(n, dtype=torch.bool)
        mask[ids] = True
        data[key] = mask
    return check_graph(data, str(folder))
