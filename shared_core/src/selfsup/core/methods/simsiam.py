"""SimSiam (Chen & He 2021): predictor + stop-gradient, no negatives, no teacher."""

from __future__ import annotations

import torch
from torch import nn

from selfsup.core.methods._heads import feature_dim, mlp_head, two_views
from selfsup.core.objectives import negative_cosine


class SimSiam(nn.Module):
    """SimSiam (Chen & He, 2021): a predictor on one view against the other view's stop-gradient projection,
    symmetrised; negative cosine similarity, no negatives and no EMA teacher."""

    def __init__(self, encoder: nn.Module, *, proj_dim: int = 128, pred_hidden_dim: int = 64) -> None:
        super().__init__()
        self.encoder = encoder
        self.projector = mlp_head(feature_dim(encoder), 256, proj_dim)
        self.predictor = mlp_head(proj_dim, pred_hidden_dim, proj_dim)

    def forward(self, batch) -> dict[str, torch.Tensor]:
        v1, v2 = two_views(batch)
        z1, z2 = self.projector(self.encoder(torch.cat([v1, v2]))).chunk(2)
        p1, p2 = self.predictor(z1), self.predictor(z2)
        return {"loss": 0.5 * (negative_cosine(p1, z2) + negative_cosine(p2, z1))}
