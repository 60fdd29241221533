"""The supervised reference: a GCN trained on the labelled nodes, weights kept at the best validation accuracy."""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch_geometric.data import Data
from torch_geometric.nn.models import GCN


def row_normalized(x: torch.Tensor) -> torch.Tensor:
    """``(N, F)`` dense features with each row divided by its sum (rows summing to 0 kept): Kipf & Welling's
    preprocessing of the Planetoid bag-of-words features (torch-geometric's ``NormalizeFeatures``)."""
    x = x.to_dense() if x.layout != torch.strided else x
    return x / x.sum(dim=1, keepdim=True).clamp_min(1e-12)


def supervised_gcn(data: Data, train_mask, val_mask, test_mask, *, hidden: int = 64, epochs: int = 200,
                   lr: float = 0.01, weight_decay: float = 5e-4, dropout: float = 0.5, seed: int = 0,
                   normalize_features: bool = True) -> dict:
    """Kipf & Welling's 2-layer GCN (torch-geometric's ``GCN``: hidden 64, dropout 0.5, Adam 0.01, L2 5e-4) on
    row-normalised features (their preprocessing; ``normalize_features=False`` reads them as they are) trained on
    ``train_mask``; the epoch with the best validation accuracy is kept (model selection on validation only).
    Returns ``{"test": acc, "val": acc}``."""
    if normalize_features:
        data = Data(x=row_normalized(data.x), edge_index=data.edge_index, y=data.y, num_nodes=data.num_nodes)
    torch.manual_seed(seed)
    model = GCN(data.num_features, hidden, num_layers=2, out_channels=int(data.y.max()) + 1, dropout=dropout)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    best_val, best_state = -1.0, None
    for _ in range(epochs):
        model.train()
        loss = F.cross_entropy(model(data.x, data.edge_index)[train_mask], data.y[train_mask])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            val = (model(data.x, data.edge_index)[val_mask].argmax(1) == data.y[val_mask]).float().mean().item()
        if val > best_val:
            best_val, best_state = val, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    model.eval()
    with torch.no_grad():
        test = (model(data.x, data.edge_index)[test_mask].argmax(1) == data.y[test_mask]).float().mean().item()
    return {"test": test, "val": best_val}
