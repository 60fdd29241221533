"""The prologue of the fused contrastive losses: two views L2-normalised and their positive logits.

``unit_pair(a, b, scale)`` returns ``(a_hat, b_hat, positive)`` (``F.normalize`` of each, and
``scale * a_hat_i . b_hat_i`` in fp32 from the rounded unit vectors), or with ``stacked=True``
``(cat([a_hat, b_hat]), positive)`` as SimCLR's 2N form wants it, and names an input holding NaN or inf. On the
Triton backend that is one kernel forward and one per view backward (:mod:`._triton_unit_pair`) instead of some
fifteen and thirty full-size PyTorch ops; ``SELFSUP_TRITON_NORMALIZE=torch`` (or any other backend) keeps PyTorch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from selfsup.core.objectives import _validation as check
from selfsup_kernels_experimental.contrastive_lse import Backend, resolve_backend


def positive_logits(a_hat: torch.Tensor, b_hat: torch.Tensor, scale: float) -> torch.Tensor:
    """``scale * a_i . b_i`` in fp32 for half-precision inputs, in the inputs' dtype otherwise (float64 stays)."""
    return (check.upcast(a_hat) * check.upcast(b_hat)).sum(dim=1) * scale


class _FusedUnitPair(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b, scale, stacked):  # type: ignore[override]
        from selfsup_kernels_experimental import _triton_unit_pair

        units, a_hat, b_hat = _triton_unit_pair.unit_buffers(a, stacked)
        inv_a, inv_b, positive, bad = _triton_unit_pair.unit_pair_forward(a, b, scale, a_hat, b_hat)
        ctx.save_for_backward(a, b, a_hat, b_hat, inv_a, inv_b)
        ctx.scale, ctx.stacked = scale, stacked
        ctx.mark_non_differentiable(bad)
        return (units, positive, bad) if stacked else (a_hat, b_hat, positive, bad)

    @staticmethod
    def backward(ctx, *grads):  # type: ignore[override]
        from selfsup_kernels_experimental import _triton_unit_pair

        a, b, a_hat, b_hat, inv_a, inv_b = ctx.saved_tensors
        n = a.shape[0]
        if ctx.stacked:
            d_units, d_positive, _ = grads
            da_hat, db_hat = (d_units[:n], d_units[n:]) if d_units is not None else (None, None)
        else:
            da_hat, db_hat, d_positive, _ = grads
        da = db = None
        if ctx.needs_input_grad[0]:
            da = _triton_unit_pair.unit_grad(a, inv_a, da_hat, b_hat, d_positive, ctx.scale)
        if ctx.needs_input_grad[1]:
            db = _triton_unit_pair.unit_grad(b, inv_b, db_hat, a_hat, d_positive, ctx.scale)
        return da, db, None, None


def _fused(a: torch.Tensor, b: torch.Tensor, backend: Backend) -> bool:
    """Triton's kernels where the loss's own log-sum-exp runs on Triton (at least ``B x B`` logits) and
    ``chosen_algorithm("normalize")`` is ``"fused"``."""
    if a.dtype != b.dtype or resolve_backend(backend, a.device, a.dtype, a.shape[0] * b.shape[0]) != "triton":
        return False
    from selfsup_kernels_experimental import _triton_lse

    return _triton_lse.chosen_algorithm("normalize") == "fused"


def unit_pair(a: torch.Tensor, b: torch.Tensor, scale: float, names: tuple[str, str] = ("a", "b"), *,
              backend: Backend = "auto", stacked: bool = False):
    """Unit rows of two views and their positive logits.

    Args:
        a, b: ``(B, D)`` views of the same samples (same shape; checked by the caller).
        scale: multiplier of the positive dot products (``1 / temperature``).
        names: the inputs' names in the error raised for NaN or inf.
        backend: as in :func:`.contrastive_lse.contrastive_lse`; Triton fuses the normalisation (see above).
        stacked: return the unit rows as one ``(2B, D)`` tensor, ``a_hat`` above ``b_hat``.

    Returns:
        ``(a_hat (B, D), b_hat (B, D), positive (B,))`` or ``(units (2B, D), positive (B,))``; the unit rows in
        the inputs' dtype, ``positive`` in fp32 for half-precision inputs.
    """
    if not _fused(a, b, backend):
        check.require_finite(**{names[0]: a, names[1]: b})
        a_hat, b_hat = F.normalize(a, dim=1), F.normalize(b, dim=1)
        positive = positive_logits(a_hat, b_hat, scale)
        return (torch.cat([a_hat, b_hat]), positive) if stacked else (a_hat, b_hat, positive)
    *out, bad = _FusedUnitPair.apply(a, b, float(scale), stacked)
    if not torch.compiler.is_compiling() and int(bad):  # one device sync, as require_finite's
        check.require_finite(**{names[0]: a, names[1]: b})  # names the input holding NaN or inf
        raise ValueError(f"{names[0]} or {names[1]} has rows whose squared norm overflows float32 "
                         "(entries of 1e19 or more)")
    return tuple(out)
