"""SubTab (Ucar et al. 2021): subsets of the columns as views; each view reconstructs the whole row,
and the views' projections are contrasted."""

from __future__ import annotations

import itertools

import torch
from torch import nn

from selfsup.core import kernels
from selfsup.tabular.corruptions import feature_subsets, marginal_resample, mask_values
from selfsup.tabular.methods._reconstruction import TableDecoder, reconstruction_loss
from selfsup.tabular.preprocessing import TableBatch


class SubTab(nn.Module):
    """``num_subsets`` overlapping column blocks; the columns outside a block are masked, a little swap
    noise is added inside; loss = mean reconstruction + mean pairwise NT-Xent between the views."""

    def __init__(self, encoder: nn.Module, num_numeric: int, cardinalities, num_subsets: int = 4,
                 overlap: float = 0.75, swap_prob: float = 0.15, temperature: float = 0.1, proj_dim: int = 128) -> None:
        super().__init__()
        self.encoder, self.swap_prob, self.temperature = encoder, swap_prob, temperature
        self.subsets = feature_subsets(num_numeric + len(cardinalities), num_subsets, overlap)
        self.decoder = TableDecoder(encoder.out_dim, num_numeric, cardinalities)
        self.projector = nn.Sequential(nn.Linear(encoder.out_dim, encoder.out_dim), nn.ReLU(),
                                       nn.Linear(encoder.out_dim, proj_dim))

    def forward(self, batch: TableBatch) -> dict[str, torch.Tensor]:
        batch = TableBatch.of(batch)
        b, device = len(batch), batch.numeric.device
        views = []
        for keep in self.subsets:
            noisy = marginal_resample(batch, torch.rand(b, batch.num_features, device=device) < self.swap_prob)
            views.append(mask_values(noisy, ~keep.to(device).expand(b, -1)))
        h = self.encoder(TableBatch.cat(views))
        recon = torch.stack([reconstruction_loss(self.decoder(part), batch) for part in h.chunk(len(views))]).mean()
        z = self.projector(h).chunk(len(views))
        contrast = torch.stack([kernels.nt_xent(z[i], z[j], self.temperature)
                                for i, j in itertools.combinations(range(len(views)), 2)]).mean()
        return {"loss": recon + contrast, "recon": recon.detach(), "contrast": contrast.detach()}
