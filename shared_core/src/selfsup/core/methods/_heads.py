"""Projection and prediction heads shared by the methods."""

from __future__ import annotations

from torch import nn


def mlp_head(in_dim: int, hidden_dim: int, out_dim: int, norm: str = "batch") -> nn.Module:
    """``Linear -> norm -> ReLU -> Linear`` (SimCLR/BYOL projector shape)."""
    norms = {"batch": nn.BatchNorm1d, "layer": nn.LayerNorm, "none": lambda _: nn.Identity()}
    return nn.Sequential(nn.Linear(in_dim, hidden_dim), norms[norm](hidden_dim), nn.ReLU(),
                         nn.Linear(hidden_dim, out_dim))


def feature_dim(encoder: nn.Module) -> int:
    dim = getattr(encoder, "out_dim", None)
    if not isinstance(dim, int):
        raise ValueError(f"{type(encoder).__name__} must expose its feature size as an int attribute `out_dim`")
    return dim


def two_views(batch):
    """``(v1, v2)`` from a batch ``{"views": [v1, v2], ...}`` or ``(v1, v2, ...)``."""
    views = batch["views"] if isinstance(batch, dict) else batch
    if len(views) < 2:
        raise ValueError("this method needs two views per sample: batch['views'] = [view1, view2]")
    return views[0], views[1]
