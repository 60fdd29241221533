"""Positional encodings owned by tokenizers: fixed sin-cos in 1D/2D/3D, learned, and grid interpolation."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def sincos_1d(positions: torch.Tensor, dim: int, temperature: float = 10000.0) -> torch.Tensor:
    """``(len(positions), dim)``: ``[sin(p * w_k), cos(p * w_k)]`` with ``w_k = temperature^(-k / (dim/2))``."""
    if dim % 2:
        raise ValueError(f"sin-cos encodings need an even dim, got {dim}")
    omega = 1.0 / temperature ** (torch.arange(dim // 2, dtype=torch.float64) / (dim // 2))
    angles = positions.double()[:, None] * omega[None, :]
    return torch.cat([angles.sin(), angles.cos()], dim=1).float()


def sincos_grid(grid: Sequence[int], dim: int, temperature: float = 10000.0) -> torch.Tensor:
    """``(prod(grid), dim)`` for a 1D, 2D or 3D grid (row-major order): the width is split equally
    over the axes, each axis encoded by :func:`sincos_1d` (MAE's 2D encoding for 2 axes)."""
    if len(grid) not in (1, 2, 3):
        raise ValueError(f"grid must have 1, 2 or 3 axes, got {tuple(grid)}")
    if dim % (2 * len(grid)):
        raise ValueError(f"dim={dim} must be divisible by {2 * len(grid)} for a {len(grid)}D sin-cos grid")
    coords = torch.meshgrid(*[torch.arange(n) for n in grid], indexing="ij")
    per_axis = dim // len(grid)
    return torch.cat([sincos_1d(c.reshape(-1), per_axis, temperature) for c in coords], dim=1)


def interpolate_grid(pos: torch.Tensor, old_grid: Sequence[int], new_grid: Sequence[int]) -> torch.Tensor:
    """Resample a positional table ``(prod(old_grid), D)`` (or ``(1, N, D)``) to ``new_grid``
    (linear / bilinear / trilinear, as when fine-tuning a ViT at a new resolution)."""
    squeeze = pos.dim() == 2
    table = pos if squeeze else pos[0]
    if table.shape[0] != math.prod(old_grid):
        raise ValueError(f"positional table has {table.shape[0]} rows, grid {tuple(old_grid)} needs "
                         f"{math.prod(old_grid)}")
    if tuple(old_grid) == tuple(new_grid):
        return pos
    mode = {1: "linear", 2: "bicubic", 3: "trilinear"}[len(old_grid)]
    grid = table.T.reshape(1, table.shape[1], *old_grid)
    out = F.interpolate(grid.float(), size=tuple(new_grid), mode=mode, align_corners=False).to(table.dtype)
    out = out.reshape(table.shape[1], -1).T
    return out if squeeze else out[None]


class LearnedPositionalEmbedding(nn.Module):
    """A learned table ``(1, prod(grid), dim)`` initialised from sin-cos (or truncated normal), resampled
    on the fly when an input comes with another grid."""

    def __init__(self, grid: Sequence[int], dim: int, init: str = "sincos") -> None:
        super().__init__()
        if init not in ("sincos", "normal"):
            raise ValueError(f"init must be 'sincos' or 'normal', got {init!r}")
        self.grid = tuple(grid)
        if init == "sincos":
            self.weight = nn.Parameter(sincos_grid(self.grid, dim)[None])
        else:
            self.weight = nn.Parameter(nn.init.trunc_normal_(torch.empty(1, math.prod(self.grid), dim), std=0.02))

    def forward(self, grid: Sequence[int] | None = None) -> torch.Tensor:
        """``(1, prod(grid), dim)`` for ``grid`` (the training grid when None)."""
        return self.weight if grid is None else interpolate_grid(self.weight, self.grid, grid)
