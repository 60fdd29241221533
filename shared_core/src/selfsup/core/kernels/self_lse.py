"""The differentiable primitive under SimCLR's 2N form: the row log-sum-exp of ``scale * Z @ Z^T`` with the
diagonal (each view against itself) left out, computed through the symmetric matrix's upper triangle.

``self_contrastive_lse(z, scale)`` equals ``contrastive_lse(z, z, scale, exclude=arange(N))`` in value and
gradient: the chunked path (CPU) works tile pairs (I, J >= I), half the logits; Triton runs the measured row
kernels on ``(Z, Z)``: every logit in the forward, and in the backward one launch that takes each tile's row and
(transposed) column terms together. (A Triton kernel over the upper triangle of tiles, never timed on a GPU, is in
``benchmarks/kernels/experimental/``.)
"""

from __future__ import annotations

import torch

from selfsup.core.kernels import _chunked_self_lse
from selfsup.core.kernels.contrastive_lse import Backend, autocast_off, direct_exponentials, resolve_backend


def _triton_forward(z: torch.Tensor, scale: float, *, direct: bool = False) -> torch.Tensor:
    """The row kernel on ``(Z, Z)`` with the diagonal left out: every logit (``direct``: chunked only)."""
    from selfsup.core.kernels import _triton_lse

    diagonal = torch.arange(z.shape[0], device=z.device, dtype=torch.int32)
    return _triton_lse.lse_forward(z, z, diagonal, scale, False)[0]


def _triton_backward(z: torch.Tensor, scale: float, lse: torch.Tensor, g: torch.Tensor, *,
                     direct: bool = False) -> torch.Tensor:
    """``dz`` in ``z``'s dtype by one row-kernel launch over (Z, Z) (:func:`._triton_lse.self_grad_rows`)."""
    from selfsup.core.kernels import _triton_lse

    diagonal = torch.arange(z.shape[0], device=z.device, dtype=torch.int32)
    return _triton_lse.self_grad_rows(z, diagonal, scale, lse, g, out_dtype=z.dtype)


def _implementation(backend: str):
    """``(forward, backward)`` of the chosen backend."""
    if backend == "chunked":
        return _chunked_self_lse.self_lse_forward, _chunked_self_lse.self_lse_backward
    return _triton_forward, _triton_backward


class _SelfLSE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z, scale, backend, direct):  # type: ignore[override]
        forward, backward = _implementation(backend)
        z = z.contiguous()
        with autocast_off(z):
            lse = forward(z, scale, direct=direct)
        ctx.save_for_backward(z, lse)
        ctx.scale, ctx.backward_fn, ctx.direct = scale, backward, direct
        return lse

    @staticmethod
    def backward(ctx, g):  # type: ignore[override]
        z, lse = ctx.saved_tensors
        with autocast_off(z):
            dz = ctx.backward_fn(z, ctx.scale, lse, g.contiguous().to(lse.dtype), direct=ctx.direct)
        return dz.to(z.dtype), None, None, None


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
