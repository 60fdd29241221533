"""An MLP encoder for flat feature vectors (or anything that flattens to ``in_dim``)."""

from __future__ import annotations

import torch
from torch import nn


class MLPEncoder(nn.Module):
    """``(B, *) -> (B, out_dim)``: flatten, then ``depth`` hidden layers of ``hidden_dim`` with a norm and ReLU.

    Args:
        in_dim: number of input features after flattening.
        norm: ``"batch"``, ``"layer"`` or ``"none"`` (``"layer"``/``"none"`` keep DDP runs exactly equal
            to one process, since BatchNorm statistics are per rank).
    """

    def __init__(self, in_dim: int, hidden_dim: int = 256, out_dim: int = 128, depth: int = 2,
                 norm: str = "batch") -> None:
        super().__init__()
        norms = {"batch": nn.BatchNorm1d, "layer": nn.LayerNorm, "none": lambda _: nn.Identity()}
        if norm not in norms:
            raise ValueError(f"norm must be 'batch', 'layer' or 'none', got {norm!r}")
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden_dim), norms[norm](hidden_dim), nn.ReLU()]
            width = hidden_dim
        layers.append(nn.Linear(width, out_dim))
        self.net = nn.Sequential(*layers)
        self.in_dim, self.out_dim = in_dim, out_dim

    def forward(self, x):
        if x[0].numel() != self.in_dim:
            raise ValueError(f"MLPEncoder(in_dim={self.in_dim}) got inputs of shape {tuple(x.shape)}")
        return self.net(x)


def example_vectors(encoder: MLPEncoder, batch: int) -> torch.Tensor:
    """``(batch, in_dim)`` standard-normal inputs (what an export of the MLP is checked on)."""
    return torch.randn(batch, encoder.in_dim)
