"""MLP over numeric features and categorical embeddings: the fast default encoder."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from selfsup.tabular.preprocessing import TableBatch


class TabularMLP(nn.Module):
    """``TableBatch -> (B, out_dim)``: embeddings of the categorical codes concatenated with the
    numeric features, then ``depth`` layers of Linear + BatchNorm + ReLU."""

    def __init__(self, num_numeric: int, cardinalities: Sequence[int], embed_dim: int = 8, hidden_dim: int = 256,
                 out_dim: int = 128, depth: int = 2) -> None:
        super().__init__()
        self.num_numeric, self.cardinalities = num_numeric, list(cardinalities)
        self.embeddings = nn.ModuleList(nn.Embedding(c, embed_dim) for c in self.cardinalities)
        width = num_numeric + embed_dim * len(self.cardinalities)
        if width == 0:
            raise ValueError("the table has no feature")
        layers: list[nn.Module] = []
        for _ in range(depth):
            layers += [nn.Linear(width, hidden_dim), nn.BatchNorm1d(hidden_dim), nn.ReLU()]
            width = hidden_dim
        layers.append(nn.Linear(width, out_dim))
        self.net = nn.Sequential(*layers)
        self.out_dim = out_dim

    def inputs(self, batch: TableBatch) -> torch.Tensor:
        if batch.numeric.shape[1] != self.num_numeric or batch.categorical.shape[1] != len(self.cardinalities):
            raise ValueError(f"expected {self.num_numeric} numeric and {len(self.cardinalities)} categorical columns, "
                             f"got {batch.numeric.shape[1]} and {batch.categorical.shape[1]}")
        parts = [batch.numeric] + [emb(batch.categorical[:, j]) for j, emb in enumerate(self.embeddings)]
        return torch.cat(parts, dim=1)

    def forward(self, numeric: TableBatch | torch.Tensor, categorical: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, out_dim)`` of a :class:`TableBatch`, or of its two tensors ``numeric (B, Fn)`` and
        ``categorical (B, Fc)`` (the inputs of an ONNX export)."""
        batch = TableBatch.of(numeric) if categorical is None else TableBatch(numeric, categorical)
        return self.net(self.inputs(batch))
