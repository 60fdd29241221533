"""Triton kernels for the row log-sum-exp of ``scale * Z @ Z^T`` with the diagonal left out (SimCLR's 2N form),
through the upper triangle of square tiles only.

A program owns a block of rows I and streams the blocks J >= I. Tile ``S_IJ`` serves rows I and, transposed,
rows J, so each logit is computed once instead of twice:

- forward: ``sum_j 2^(s_ij - bound)`` (``bound``: an upper bound of every base-2 logit, one exponential per
  logit) summed over the tile's columns into rows I and over its rows into rows J, atomically. The rows whose
  sum underflowed (every logit ~100 below the bound: temperature <~ 0.03 on unit vectors) are recomputed exactly
  by the row kernel of :mod:`._triton_lse`.
- backward: ``A_IJ = g_I P_IJ + g_J P_JI^T`` from the one tile; ``A_IJ @ Z_J`` is added into rows I (kept in
  registers) and ``A_IJ^T @ Z_I`` into rows J, atomically.

Forward + backward do 4 N^2 D matmul FLOPs against 6 N^2 D for the row kernels on ``(Z, Z)`` (forward 2, and a
backward of 4 that takes each tile's row and column terms together, :func:`._triton_lse.self_grad_rows`; 10 before
it did dQ and dK by separate launches). Not yet timed on a GPU (the atomics are the unknown): by default the losses
time it against the row kernels on a problem's first call and keep the faster (``SELFSUP_TRITON_SELF=auto``, see
:func:`._triton_lse.chosen_algorithm`).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from selfsup_kernels_experimental._triton_lse import (
    LN2,
    LOG2E,
    TWO_PER_SM,
    _block_d,
    _precision,
    _row_lse,
    _tile_logits,
    direct_weights,
    grad_tile,
    half_rescaled,
    launcher,
    load_block,
    load_grad_stats,
    logit_bound_log2,
    output_scale,
    program_block,
    use_direct,
)

_empty = torch.empty  # output allocator (tests poison it)

# A row sum (relative to the bound) below n * 2^-100 may have lost terms to underflow: recomputed exactly.
TINY_ROW_SUM = 2.0 ** -100


@triton.jit
def _self_lse_fwd_kernel(Z, BOUND, ROWSUM, n, dim, scale_log2, stride, PRECISION: tl.constexpr,
                         DIRECT: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr):
    """``ROWSUM[i] += sum_{j != i} 2^(s_ij - bound)`` over the tiles (I, J >= I) of row block I (``ROWSUM``
    zeroed); ``DIRECT``: ``2^s_ij`` itself (bounded logits, ``BOUND`` not read)."""
    tl.static_assert(BLOCK_M == BLOCK_N, "symmetric tiles are square")
    first, rows, row_ok, offs_d, d_ok, zi = program_block(Z, n, dim, stride, BLOCK_M, BLOCK_D)
    bound = 0.0
    if not DIRECT:
        bound = tl.load(BOUND)
    acc = tl.zeros([BLOCK_M], tl.float32)
    for start in range(first, n, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N)
        col_ok = cols < n
        zj = load_block(Z, cols, col_ok, offs_d, d_ok, stride)
        s = _tile_logits(zi, zj, cols, col_ok, rows, scale_log2, True, PRECISION)  # the diagonal left out
        p = tl.where(row_ok[:, None], tl.exp2(s - bound), 0.0)  # padded rows (z = 0) add nothing
        acc += tl.sum(p, 1)
        # the diagonal tile's columns are its own rows, already counted
        tl.atomic_add(ROWSUM + cols, tl.sum(p, 0), mask=col_ok & (start != first), sem="relaxed")
    tl.atomic_add(ROWSUM + rows, acc, mask=row_ok, sem="relaxed")


@triton.jit
def _self_lse_bwd_kernel(Z, LSE, G, DZ, INV_F, n, dim, scale_log2, scale, stride, stride_dz,
                         PRECISION: tl.constexpr, DIRECT: tl.constexpr, RESCALED: tl.constexpr,
                         BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr):
    """``DZ += scale * A @ Z`` (``DZ`` zeroed) over the tiles (I, J >= I) of row block I, with
    ``A_ij = g_i 2^(s_ij - lse_i) + g_j 2^(s_ij - lse_j)`` (base 2, zero on the diagonal; :func:`grad_tile`,
    ``DIRECT`` included); ``RESCALED``: ``G`` came multiplied by ``f`` and ``INV_F`` holds ``1 / f``."""
    tl.static_assert(BLOCK_M == BLOCK_N, "symmetric tiles are square")
    first, rows, row_ok, offs_d, d_ok, zi = program_block(Z, n, dim, stride, BLOCK_M, BLOCK_D)
    out_scale = output_scale(scale, INV_F, RESCALED)
    lse_i, g_i = load_grad_stats(LSE, G, rows, row_ok, DIRECT)
    acc = tl.zeros([BLOCK_M, BLOCK_D], tl.float32)
    for start in range(first, n, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N)
        col_ok = cols < n
        zj = load_block(Z, cols, col_ok, offs_d, d_ok, stride)
        lse_j, g_j = load_grad_stats(LSE, G, cols, col_ok, DIRECT)
        s = _tile_logits(zi, zj, cols, col_ok, rows, scale_log2, True, PRECISION)
        a_op = grad_tile(s, lse_i, g_i, lse_j, g_j, True, True, DIRECT).to(zj.dtype)
        acc += tl.dot(a_op, zj, input_precision=PRECISION)
        dzj = tl.dot(tl.trans(a_op), zi, input_precision=PRECISION) * out_scale  # padded rows: z = 0, nothing
        tl.atomic_add(DZ + cols[:, None] * stride_dz + offs_d[None, :], dzj,
                      mask=(col_ok & (start != first))[:, None] & d_ok[None, :], sem="relaxed")
    tl.atomic_add(DZ + rows[:, None] * stride_dz + offs_d[None, :], acc * out_scale,
                  mask=row_ok[:, None] & d_ok[None, :], sem="relaxed")


_SQUARE = [(64, 64), (128, 128)]
# At BLOCK_D=512 none of the square configurations above fitted the backward in an sm_90 block's shared memory
# (benchmarks/results/kernels-sm90-static.md); these do, without spills.
_FORWARD = launcher(_self_lse_fwd_kernel, _SQUARE, ["n", "dim", "DIRECT"], reset_to_zero=["ROWSUM"],
                    wide=[(64, 64, 8, 2), (32, 32, 8, 3)], extra=TWO_PER_SM)
_BACKWARD = launcher(_self_lse_bwd_kernel, _SQUARE, ["n", "dim", "DIRECT"], reset_to_zero=["DZ"],
                     wide=[(32, 32, 8, 2), (32, 32, 8, 3)])


def self_lse_forward(z: torch.Tensor, scale: float, *, direct: bool = False) -> torch.Tensor:
    """``lse (N,)`` fp32: ``lse_i = log sum_{j != i} exp(scale * z_i . z_j)`` for ``z (N, D)``, N >= 2.
    ``direct``: the logits are bounded (:func:`._triton_lse.use_direct`), sums of ``2^s`` themselves."""
    n, dim = z.shape
    direct = use_direct(direct)
    rowsum = torch.zeros(n, device=z.device, dtype=torch.float32)  # accumulated atomically
    bound = rowsum if direct else logit_bound_log2(z, z, scale)
    _FORWARD(lambda meta: (triton.cdiv(n, meta["BLOCK_M"]),), z, bound, rowsum, n, dim, scale * LOG2E,
             z.stride(0), PRECISION=_precision(z.dtype), DIRECT=direct, BLOCK_D=_block_d(dim))
    lse = _empty(n, device=z.device, dtype=torch.float32)
    if direct:
        return torch.log(rowsum, out=lse)
    torch.mul(bound + torch.log2(rowsum), LN2, out=lse)  # the underflowed rows are overwritten next
    diagonal = torch.arange(n, device=z.device, dtype=torch.int32)
    # _row_lse's ONLY_TINY recomputes the rows whose "column sum" is below 2^-100, i.e. rowsum < n * 2^-100
    _row_lse(z, z, diagonal, scale, out=lse, colsum=rowsum / n, only_tiny=True)
    return lse


def self_lse_backward(z: torch.Tensor, scale: float, lse: torch.Tensor, g: torch.Tensor, *,
                      direct: bool = False) -> torch.Tensor:
    """``dz (N, D)`` fp32 for upstream ``g (N,)``; ``direct`` as in :func:`self_lse_forward`; fp16 operands: ``g``
    rescaled for the cast (:func:`._triton_lse.half_grad_scale`)."""
    n, dim = z.shape
    direct = use_direct(direct)
    dz = torch.zeros(n, dim, device=z.device, dtype=torch.float32)  # accumulated atomically
    inv_f, g = half_rescaled(z.dtype, g, terms=2)  # |A_ij| <= |g_i| + |g_j|
    _BACKWARD(lambda meta: (triton.cdiv(n, meta["BLOCK_M"]),), z, lse, direct_weights(lse, g) if direct else g, dz,
              inv_f if inv_f is not None else dz, n, dim, scale * LOG2E, scale, z.stride(0), dz.stride(0),
              PRECISION=_precision(z.dtype), DIRECT=direct, RESCALED=inv_f is not None, BLOCK_D=_block_d(dim))
    return dz
