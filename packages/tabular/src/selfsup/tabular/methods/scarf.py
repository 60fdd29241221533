"""SCARF (Bahri et al. 2022): InfoNCE between a row and a copy whose features are partly replaced by
draws from their empirical marginals."""

from __future__ import annotations

import torch
from torch import nn

from selfsup.core import kernels
from selfsup.core.trunk import random_mask
from selfsup.tabular.corruptions import marginal_resample
from selfsup.tabular.preprocessing import TableBatch


class SCARF(nn.Module):
    """Corrupts exactly ``round(corruption_rate * F)`` features of every row (marginal resampling)."""

    def __init__(self, encoder: nn.Module, corruption_rate: float = 0.6, temperature: float = 1.0,
                 proj_dim: int = 128, hidden_dim: int = 256) -> None:
        super().__init__()
        self.encoder, self.corruption_rate, self.temperature = encoder, corruption_rate, temperature
        self.projector = nn.Sequential(nn.Linear(encoder.out_dim, hidden_dim), nn.ReLU(),
                                       nn.Linear(hidden_dim, proj_dim))

    def forward(self, batch: TableBatch) -> dict[str, torch.Tensor]:
        batch = TableBatch.of(batch)
        mask = random_mask(len(batch), batch.num_features, self.corruption_rate).to(batch.numeric.device)
        corrupted = marginal_resample(batch, mask)
        z = self.projector(self.encoder(TableBatch.cat([batch, corrupted])))
        anchor, positive = z.chunk(2)
        return {"loss": kernels.info_nce(anchor, positive, self.temperature, symmetric=True)}
