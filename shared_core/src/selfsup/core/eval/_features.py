"""Conversion and checks of (features, labels) pairs given to the evaluators."""

from __future__ import annotations

import numpy as np
import torch


def as_tensor(name: str, x, dtype: torch.dtype) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    t = t.detach().to(dtype)
    if dtype.is_floating_point and not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contain NaN or inf")
    return t


def check_split(features: torch.Tensor, labels: torch.Tensor, split: str) -> None:
    if features.dim() != 2:
        raise ValueError(f"{split} features must be (N, D), got shape {tuple(features.shape)}")
    if labels.dim() != 1 or labels.shape[0] != features.shape[0]:
        raise ValueError(f"{split} labels must have shape ({features.shape[0]},), "
                         f"got {tuple(labels.shape)}")
    if features.shape[0] == 0:
        raise ValueError(f"{split} split is empty")
