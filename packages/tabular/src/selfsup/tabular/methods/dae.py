"""Denoising autoencoder with swap noise (the Porto Seguro winner's recipe): reconstruct the clean row."""

from __future__ import annotations

import torch
from torch import nn

from selfsup.tabular.corruptions import marginal_resample
from selfsup.tabular.methods._reconstruction import TableDecoder, reconstruction_loss
from selfsup.tabular.preprocessing import TableBatch


class DenoisingAutoencoder(nn.Module):
    """Denoising autoencoder: reconstruct the clean row from one whose values were swapped, with probability
    ``swap_prob``, for other rows' values of the same column."""

    def __init__(self, encoder: nn.Module, num_numeric: int, cardinalities, swap_prob: float = 0.15) -> None:
        super().__init__()
        self.encoder, self.swap_prob = encoder, swap_prob
        self.decoder = TableDecoder(encoder.out_dim, num_numeric, cardinalities)

    def forward(self, batch: TableBatch) -> dict[str, torch.Tensor]:
        batch = TableBatch.of(batch)
        mask = torch.rand(len(batch), batch.num_features, device=batch.numeric.device) < self.swap_prob
        return {"loss": reconstruction_loss(self.decoder(self.encoder(marginal_resample(batch, mask))), batch)}
