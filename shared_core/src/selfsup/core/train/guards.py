"""Divergence checks of the training step: the parameters and buffers after an optimizer step, and whether a batch
that gave non-finite activations held non-finite inputs (bad data) or not (divergence)."""

from __future__ import annotations

from itertools import chain
from typing import Any

import torch
from torch import nn

#: A parameter or buffer whose magnitude exceeds this has diverged (well above any weight, statistic or
#: intensity a working model holds; SGD at lr=1000 reaches 1e22 with a finite loss behind BatchNorm).
DIVERGED_MAGNITUDE = 1e15


def first_diverged(module: nn.Module) -> tuple[str, float] | None:
    """``(name, largest magnitude)`` of the first floating parameter or buffer of ``module`` that is not finite or
    exceeds :data:`DIVERGED_MAGNITUDE`; None when all are sound. One device sync."""
    named = [(name, t.detach()) for name, t in chain(module.named_parameters(), module.named_buffers())
             if t.is_floating_point() and t.numel()]
    if not named:
        return None
    largest = torch.stack([m.float() for m in torch._foreach_norm([t for _, t in named], float("inf"))])
    bad = ~(largest <= DIVERGED_MAGNITUDE)  # NaN compares False: caught too
    if not bool(bad.any()):
        return None
    i = int(bad.nonzero()[0])
    return named[i][0], float(largest[i])


def nonfinite_inputs(batch: Any) -> int:
    """Number of NaN/inf values in the floating tensors of ``batch`` (nested dicts, lists, tuples)."""
    if isinstance(batch, torch.Tensor):
        return int((~torch.isfinite(batch)).sum()) if batch.is_floating_point() else 0
    if isinstance(batch, dict):
        return sum(nonfinite_inputs(v) for v in batch.values())
    if isinstance(batch, (list, tuple)):
        return sum(nonfinite_inputs(v) for v in batch)
    tensors = getattr(batch, "to_dict", None)  # PyG Data/Batch
    return nonfinite_inputs(tensors()) if callable(tensors) else 0
