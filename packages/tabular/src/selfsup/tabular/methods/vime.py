"""VIME self-supervision (Yoon et al. 2020): from a corrupted row, estimate which features were
corrupted and reconstruct the original row."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.tabular.corruptions import marginal_resample
from selfsup.tabular.methods._reconstruction import TableDecoder, reconstruction_loss
from selfsup.tabular.preprocessing import TableBatch


class VIMESelf(nn.Module):
    """Mask ``m ~ Bernoulli(p_mask)``, ``x~`` = marginal resampling where ``m``; loss = BCE(mask
    estimate, m) + ``alpha`` * reconstruction of ``x``."""

    def __init__(self, encoder: nn.Module, num_numeric: int, cardinalities, p_mask: float = 0.3,
                 alpha: float = 2.0) -> None:
        super().__init__()
        self.encoder, self.p_mask, self.alpha = encoder, p_mask, alpha
        self.mask_head = nn.Linear(encoder.out_dim, num_numeric + len(cardinalities))
        self.decoder = TableDecoder(encoder.out_dim, num_numeric, cardinalities)

    def forward(self, batch: TableBatch) -> dict[str, torch.Tensor]:
        batch = TableBatch.of(batch)
        mask = torch.rand(len(batch), batch.num_features, device=batch.numeric.device) < self.p_mask
        h = self.encoder(marginal_resample(batch, mask))
        mask_loss = F.binary_cross_entropy_with_logits(self.mask_head(h), mask.float())
        recon = reconstruction_loss(self.decoder(h), batch)
        return {"loss": mask_loss + self.alpha * recon, "mask_loss": mask_loss.detach(), "recon": recon.detach()}
