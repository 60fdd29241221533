"""The prologue of the fused contrastive losses: two views L2-normalised and their positive logits.

``unit_pair(a, b, scale)`` returns ``(a_hat, b_hat, positive)`` (``F.normalize`` of each, and
``scale * a_hat_i . b_hat_i`` in fp32 from the rounded unit vectors), or with ``stacked=True``
``(cat([a_hat, b_hat]), positive)`` as SimCLR's 2N form wants it, and names an input holding NaN or inf. PyTorch
ops on every backend (a fused Triton prologue, never timed on a GPU, is in ``benchmarks/kernels/experimental/``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from selfsup.core.kernels.contrastive_lse import Backend
from selfsup.core.objectives import _validation as check


def positive_logits(a_hat: torch.Tensor, b_hat: torch.Tensor, scale: float) -> torch.Tensor:
    """``scale * a_i . b_i`` in fp32 for half-precision inputs, in the inputs' dtype otherwise (float64 stays)."""
    return (check.upcast(a_hat) * check.upcast(b_hat)).sum(dim=1) * scale


def unit_pair(a: torch.Tensor, b: torch.Tensor, scale: float, names: tuple[str, str] = ("a", "b"), *,
              backend: Backend = "auto", stacked: bool = False):
    """Unit rows of two views and their positive logits.

    Args:
        a, b: ``(B, D)`` views of the same samples (same shape; checked by the caller).
        scale: multiplier of the positive dot products (``1 / temperature``).
        names: the inputs' names in the error raised for NaN or inf.
        backend: as in :func:`.contrastive_lse.contrastive_lse` (the same PyTorch ops on each).
        stacked: return the unit rows as one ``(2B, D)`` tensor, ``a_hat`` above ``b_hat``.

    Returns:
        ``(a_hat (B, D), b_hat (B, D), positive (B,))`` or ``(units (2B, D), positive (B,))``; the unit rows in
        the inputs' dtype, ``positive`` in fp32 for half-precision inputs.
    """
    check.require_finite(**{names[0]: a, names[1]: b})
    a_hat, b_hat = F.normalize(a, dim=1), F.normalize(b, dim=1)
    positive = positive_logits(a_hat, b_hat, scale)
    return (torch.cat([a_hat, b_hat]), positive) if stacked else (a_hat, b_hat, positive)
