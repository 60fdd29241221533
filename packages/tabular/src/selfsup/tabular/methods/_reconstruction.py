"""Reconstruction of a table row from a feature: per-column predictions and their loss."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.tabular.preprocessing import TableBatch


class TableDecoder(nn.Module):
    """``(B, in_dim) -> (numeric (B, Fn), [logits (B, card_j)])``."""

    def __init__(self, in_dim: int, num_numeric: int, cardinalities: Sequence[int], hidden_dim: int = 256) -> None:
        super().__init__()
        self.num_numeric, self.cardinalities = num_numeric, list(cardinalities)
        self.net = nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.ReLU(),
                                 nn.Linear(hidden_dim, num_numeric + sum(self.cardinalities)))

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        out = self.net(h)
        numeric, rest = out[:, : self.num_numeric], out[:, self.num_numeric:]
        return numeric, list(rest.split(self.cardinalities, dim=1)) if self.cardinalities else []


def reconstruction_loss(prediction: tuple[torch.Tensor, list[torch.Tensor]], target: TableBatch) -> torch.Tensor:
    """Mean squared error on the numeric columns plus mean cross-entropy over the categorical ones."""
    numeric, logits = prediction
    loss = F.mse_loss(numeric, target.numeric) if numeric.shape[1] else numeric.new_zeros(())
    if logits:
        loss = loss + torch.stack([F.cross_entropy(lg, target.categorical[:, j]) for j, lg in enumerate(logits)]).mean()
    return loss
