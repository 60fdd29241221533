"""Two-view methods with a projector and a cross-batch objective: SimCLR, DCL/DCLW, Barlow Twins, VICReg."""

from __future__ import annotations

import torch
from torch import nn

from selfsup.core import kernels, objectives
from selfsup.core.methods._heads import feature_dim, mlp_head, two_views

OBJECTIVES = {
    "nt_xent": lambda z1, z2, t, g: kernels.nt_xent(z1, z2, t, gather=g),
    "info_nce": lambda z1, z2, t, g: kernels.info_nce(z1, z2, t, symmetric=True, gather=g),
    "dcl": lambda z1, z2, t, g: objectives.dcl(z1, z2, t, gather=g),
    "dclw": lambda z1, z2, t, g: objectives.dclw(z1, z2, t, gather=g),
    "barlow_twins": lambda z1, z2, t, g: objectives.barlow_twins(z1, z2, gather=g),
    "vicreg": lambda z1, z2, t, g: objectives.vicreg(z1, z2, gather=g),
}


class TwoViewMethod(nn.Module):
    """``loss = objective(projector(encoder(v1)), projector(encoder(v2)))`` (both views in one pass).

    Args:
        encoder: module with an ``out_dim`` attribute.
        objective: one of :data:`OBJECTIVES`.
        gather: contrast/standardise over all ranks under DDP (exact; no-op on one process).
    """

    def __init__(self, encoder: nn.Module, objective: str = "nt_xent", *, proj_dim: int = 128,
                 hidden_dim: int = 512, temperature: float = 0.2, norm: str = "batch", gather: bool = True) -> None:
        super().__init__()
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {sorted(OBJECTIVES)}, got {objective!r}")
        self.encoder, self.objective, self.temperature, self.gather = encoder, objective, temperature, gather
        self.projector = mlp_head(feature_dim(encoder), hidden_dim, proj_dim, norm)

    def forward(self, batch) -> dict[str, torch.Tensor]:
        v1, v2 = two_views(batch)
        z1, z2 = self.projector(self.encoder(torch.cat([v1, v2]))).chunk(2)
        return {"loss": OBJECTIVES[self.objective](z1, z2, self.temperature, self.gather)}
