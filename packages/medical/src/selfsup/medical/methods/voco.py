"""VoCo (Wu et al., CVPR 2024): volume contrast for contextual position prediction."""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.medical.augment import crop_at, random_crop_corners
from selfsup.medical.encoders.base import VolumeEncoder
from selfsup.medical.methods._batch import batch_volumes


def overlap_fractions(corners: torch.Tensor, base_corners: torch.Tensor, size: int) -> torch.Tensor:
    """``(B, R, G)``: the share of each random crop (corners ``(B, R, 3)``) that lies in each base crop (corners
    ``(G, 3)``), all cubes of edge ``size``. Over a base grid that tiles the volume the shares sum to 1."""
    lo = torch.maximum(corners[:, :, None, :], base_corners[None, None])
    hi = torch.minimum(corners[:, :, None, :], base_corners[None, None]) + size
    return (hi - lo).clamp(min=0).prod(dim=-1).float() / size ** 3


class VoCo(nn.Module):
    """The volume is cut into a ``grid``^3 of non-overlapping base crops (edge ``crop``); ``num_random`` random
    crops per volume must predict, by the cosine similarity of their projected features to each base crop's,
    how much of them lies in that base crop: ``L_pred = mean(-log(1 - |relu(cos) - overlap|))`` with the base
    features detached, plus ``L_reg = mean over base pairs of -log(1 - |cos|)`` that keeps the base crops'
    features apart. Volumes must be ``grid * crop`` voxels along each axis.
    """

    def __init__(self, encoder: VolumeEncoder, *, crop: int = 32, grid: int = 2, num_random: int = 4,
                 proj_dim: int = 256, reg_weight: float = 1.0) -> None:
        super().__init__()
        self.encoder, self.crop, self.grid = encoder, crop, grid
        self.num_random, self.reg_weight = num_random, reg_weight
        d = encoder.out_dim
        self.projector = nn.Sequential(nn.Linear(d, 2 * proj_dim), nn.GELU(), nn.Linear(2 * proj_dim, proj_dim))
        steps = [i * crop for i in range(grid)]
        self.register_buffer("base_corners", torch.tensor(list(itertools.product(steps, repeat=3))), persistent=False)

    def forward(self, batch) -> dict[str, torch.Tensor]:
        volumes = batch_volumes(batch)
        b, side = volumes.shape[0], self.grid * self.crop
        if tuple(volumes.shape[2:]) != (side,) * 3:
            raise ValueError(f"VoCo with a {self.grid}^3 grid of {self.crop}^3 crops needs {side}^3 volumes, "
                             f"got {tuple(volumes.shape[2:])}")
        g = self.base_corners.shape[0]
        base = torch.cat([crop_at(volumes, c.expand(b, 3), self.crop) for c in self.base_corners.cpu()])
        corners = torch.stack([random_crop_corners(b, volumes.shape[2:], self.crop) for _ in range(self.num_random)], 1)
        rand = torch.cat([crop_at(volumes, corners[:, r], self.crop) for r in range(self.num_random)])
        z = F.normalize(self.projector(self.encoder(torch.cat([base, rand]))).float(), dim=-1)
        zb = z[: g * b].reshape(g, b, -1).transpose(0, 1)  # (B, G, d)
        zr = z[g * b:].reshape(self.num_random, b, -1).transpose(0, 1)  # (B, R, d)
        labels = overlap_fractions(corners.to(zr.device), self.base_corners, self.crop)
        pred = torch.einsum("brd,bgd->brg", zr, zb.detach()).clamp(min=0)
        eps = 1e-4
        pred_loss = -torch.log((1 - (pred - labels).abs()).clamp(min=eps)).mean()
        sim = torch.einsum("bgd,bhd->bgh", zb, zb)
        off = ~torch.eye(g, dtype=torch.bool, device=sim.device)
        reg_loss = -torch.log((1 - sim[:, off].abs()).clamp(min=eps)).mean()
        return {"loss": pred_loss + self.reg_weight * reg_loss, "prediction": pred_loss.detach(),
                "regularisation": reg_loss.detach()}
