"""The embedded default: scikit-learn's real handwritten digits as a k-nearest-neighbour graph."""

from __future__ import annotations

import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.utils import to_undirected

from selfsup.graph.datasets.splits import random_node_split


def digits_knn_graph(k: int = 10, *, seed: int = 0) -> Data:
    """1,797 real 8x8 digit images (scikit-learn's bundled copy of the UCI set) as nodes with their 64
    pixels (scaled to [0, 1]) as features, joined to their ``k`` nearest neighbours in pixel space
    (scikit-learn's ``kneighbors_graph``, symmetrised); labels are the digits. Planetoid-style masks:
    20 labelled nodes per class, 500 validation, 1,000 test. A constructed graph over real data: no
    download, and large enough to rank methods (KarateClub's 34 nodes are not)."""
    from sklearn.datasets import load_digits
    from sklearn.neighbors import kneighbors_graph

    digits = load_digits()
    x = torch.tensor(digits.data, dtype=torch.float32) / 16.0
    adjacency = kneighbors_graph(digits.data, k, include_self=False).tocoo()
    edge_index = to_undirected(torch.from_numpy(np.stack([adjacency.row, adjacency.col])).long(), num_nodes=len(x))
    y = torch.tensor(digits.target, dtype=torch.long)
    train, val, test = random_node_split(y, seed=seed)
    return Data(x=x, edge_index=edge_index, y=y, train_mask=train, val_mask=val, test_mask=test, num_nodes=len(x))
