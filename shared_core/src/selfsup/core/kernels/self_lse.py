"""The differentiable primitive under SimCLR's 2N form: ``self_contrastive_lse(z, scale)`` equals
``contrastive_lse(z, z, scale, exclude=arange(N))`` in value and gradient, through the symmetric matrix's upper
triangle on the chunked path and the row kernels on ``(Z, Z)`` on Triton (docs/kernels.md; a Triton upper-triangle
kernel, never timed on a GPU, is in ``benchmarks/kernels/experimental/``).
"""

from __future__ import annotations

import torch

from selfsup.core.kernels import _chunked_self_lse
from selfsup.core.kernels.contrastive_lse import (
    Backend,
    autocast_off,
    backend_module,
    direct_exponentials,
    exp_args,
    resolve_backend,
)


class _SelfLSE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z, scale, backend, direct):  # type: ignore[override]
        z = z.contiguous()
        with autocast_off(z):
            lse = backend_module(backend, _chunked_self_lse).self_lse_forward(z, scale, **exp_args(backend, direct))
        ctx.save_for_backward(z, lse)
        ctx.scale, ctx.backend, ctx.direct = scale, backend, direct
        return lse

    @staticmethod
    def backward(ctx, g):  # type: ignore[override]
        z, lse = ctx.saved_tensors
        with autocast_off(z):
            dz = backend_module(ctx.backend, _chunked_self_lse).self_lse_backward(
                z, ctx.scale, lse, g.contiguous().to(lse.dtype), out_dtype=z.dtype, **exp_args(ctx.backend, ctx.direct))
        return dz, None, None, None


def self_contrastive_lse(z: torch.Tensor, scale: float, *, backend: Backend = "auto",
                         max_logit: float | None = None) -> torch.Tensor:
    """``lse (N,)``: ``lse_i = log sum_{j != i} exp(scale * z_i . z_j)`` in linear memory.

    Args:
        z: ``(N, D)`` embeddings, N >= 2 (fp32/bf16/fp16; float64 on ``chunked``).
        scale: multiplier of the dot products (``1 / temperature``).
        backend: as in :func:`selfsup.core.kernels.contrastive_lse`.
        max_logit: as in :func:`selfsup.core.kernels.contrastive_lse`.

    Returns:
        ``(N,)`` fp32 (float64 for float64 input).
    """
    if z.dim() != 2:
        raise ValueError(f"z must be (N, D), got shape {tuple(z.shape)}")
    if z.shape[0] < 2:
        raise ValueError(f"z needs at least 2 rows (each row's sum leaves itself out), got {z.shape[0]}")
    chosen = resolve_backend(backend, z.device, z.dtype, z.shape[0] * z.shape[0], z.shape[1])
    return _SelfLSE.apply(z, float(scale), chosen, direct_exponentials(max_logit))
