"""Triton kernels for what the contrastive losses do around the log-sum-exp: L2-normalise two views and take the
positive logit, and the gradient of that back to the raw embeddings; one memory-bound pass each.

- forward (:func:`unit_pair_forward`): for rows ``a_i``, ``b_i`` of two ``(B, D)`` matrices, ``a_i / ||a_i||`` and
  ``b_i / ||b_i||`` in the inputs' dtype (``F.normalize``: the norm clamped below at ``eps``), the positive logit
  ``scale * a_hat_i . b_hat_i`` in fp32 from the rounded unit vectors, the inverse norms for the backward, and a count
  of the rows whose squared norm is not finite (a NaN or inf in the input; the caller names it).
- backward (:func:`unit_grad`): ``dx = (du - u (u . du)) / ||x||`` (``du / eps`` where the norm was clamped) with
  ``du = d(x_hat) + scale * d(positive)_i * other_hat_i``: the positive term's gradient and the normalisation's in one
  pass, written in the input's dtype.

In PyTorch the same is about fifteen full-size elementwise and reduction kernels in the forward (two norms, clamps and
divisions, upcasts, a product and a sum, the finiteness check) and some thirty in the backward; here one and two.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from selfsup_kernels_experimental._triton_lse import load_block

_empty = torch.empty  # output allocator (tests poison it)

EPS = 1e-12  # F.normalize's

_ELEMENTS_PER_PROGRAM = 4096  # a block of rows of about this many elements per program: memory-bound, no tiling


@triton.jit
def _rows_tile(PTR, rows, row_ok, offs_d, d_ok, stride):
    """:func:`._triton_lse.load_block` in fp32."""
    return load_block(PTR, rows, row_ok, offs_d, d_ok, stride).to(tl.float32)


@triton.jit
def _unit_pair_fwd_kernel(A, B, A_UNIT, B_UNIT, INV_A, INV_B, POS, BAD, n, dim, scale, eps,
                          stride_a, stride_b, stride_au, stride_bu, BLOCK_M: tl.constexpr, BLOCK_D: tl.constexpr):
    """Unit rows of A and B (stored in A_UNIT's dtype), their inverse norms, the positive logits from the stored
    (rounded) unit rows, and ``BAD += `` the number of rows of A or B with a non-finite squared norm."""
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, BLOCK_D)
    row_ok = rows < n
    d_ok = offs_d < dim
    a = _rows_tile(A, rows, row_ok, offs_d, d_ok, stride_a)
    b = _rows_tile(B, rows, row_ok, offs_d, d_ok, stride_b)
    sq_a = tl.sum(a * a, 1)
    sq_b = tl.sum(b * b, 1)
    inv_a = 1.0 / tl.maximum(tl.sqrt(sq_a), eps)
    inv_b = 1.0 / tl.maximum(tl.sqrt(sq_b), eps)
    mask = row_ok[:, None] & d_ok[None, :]
    a_unit = (a * inv_a[:, None]).to(A_UNIT.dtype.element_ty)
    b_unit = (b * inv_b[:, None]).to(B_UNIT.dtype.element_ty)
    tl.store(A_UNIT + rows[:, None] * stride_au + offs_d[None, :], a_unit, mask=mask)
    tl.store(B_UNIT + rows[:, None] * stride_bu + offs_d[None, :], b_unit, mask=mask)
    tl.store(INV_A + rows, inv_a, mask=row_ok)
    tl.store(INV_B + rows, inv_b, mask=row_ok)
    tl.store(POS + rows, tl.sum(a_unit.to(tl.float32) * b_unit.to(tl.float32), 1) * scale, mask=row_ok)
    finite = (sq_a < float("inf")) & (sq_b < float("inf"))  # false for NaN and inf
    tl.atomic_add(BAD, tl.sum((row_ok & ~finite).to(tl.int32), 0), sem="relaxed")


@triton.jit
def _unit_grad_kernel(X, INV, DU, OTHER, DPOS, DX, n, dim, scale, eps, stride_x, stride_du, stride_o, stride_dx,
                      HAS_DU: tl.constexpr, HAS_POS: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_D: tl.constexpr):
    """``DX`` (X's dtype) = the gradient through ``x -> x / max(||x||, eps)`` of ``DU + scale * DPOS_i * OTHER_i``."""
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, BLOCK_D)
    row_ok = rows < n
    d_ok = offs_d < dim
    x = _rows_tile(X, rows, row_ok, offs_d, d_ok, stride_x)
    inv = tl.load(INV + rows, mask=row_ok, other=0.0)
    u = x * inv[:, None]
    du = tl.zeros([BLOCK_M, BLOCK_D], tl.float32)
    if HAS_DU:
        du += _rows_tile(DU, rows, row_ok, offs_d, d_ok, stride_du)
    if HAS_POS:
        weight = tl.load(DPOS + rows, mask=row_ok, other=0.0) * scale
        du += weight[:, None] * _rows_tile(OTHER, rows, row_ok, offs_d, d_ok, stride_o)
    clamped = tl.sqrt(tl.sum(x * x, 1)) < eps  # the norm was the constant eps: no projection
    radial = tl.where(clamped, 0.0, tl.sum(u * du, 1))
    dx = (du - radial[:, None] * u) * inv[:, None]
    tl.store(DX + rows[:, None] * stride_dx + offs_d[None, :], dx.to(DX.dtype.element_ty),
             mask=row_ok[:, None] & d_ok[None, :])


def _blocks(dim: int) -> tuple[int, int]:
    """``(BLOCK_M, BLOCK_D)``: whole rows, about :data:`_ELEMENTS_PER_PROGRAM` elements per program."""
    block_d = triton.next_power_of_2(max(dim, 16))
    return max(1, _ELEMENTS_PER_PROGRAM // block_d), block_d


def _row_major(t: torch.Tensor) -> torch.Tensor:
    return t if t.stride(1) == 1 else t.contiguous()


def unit_buffers(a: torch.Tensor, stacked: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(units, a_hat, b_hat)``, uninitialised, in ``a``'s dtype: with ``stacked`` one ``(2B, D)`` tensor and its
    two halves, otherwise ``units`` is ``a_hat`` and ``b_hat`` is a second ``(B, D)`` tensor."""
    n, dim = a.shape
    units = _empty(2 * n if stacked else n, dim, device=a.device, dtype=a.dtype)
    return (units, units[:n], units[n:]) if stacked else (units, units, _empty(n, dim, device=a.device, dtype=a.dtype))


def unit_pair_forward(a: torch.Tensor, b: torch.Tensor, scale: float, a_unit: torch.Tensor,
                      b_unit: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Write the unit rows of ``a``, ``b`` (both ``(B, D)``) into ``a_unit``, ``b_unit`` (row-major, e.g. the two
    halves of one ``(2B, D)`` buffer); return ``(inv_a, inv_b, positive, bad)``: inverse norms and
    ``scale * a_hat_i . b_hat_i``, ``(B,)`` fp32 each, and ``(1,)`` int32, the number of rows with a NaN or inf."""
    a, b = _row_major(a), _row_major(b)
    n, dim = a.shape
    inv_a, inv_b, positive = (_empty(n, device=a.device, dtype=torch.float32) for _ in range(3))
    bad = torch.zeros(1, device=a.device, dtype=torch.int32)
    block_m, block_d = _blocks(dim)
    _unit_pair_fwd_kernel[(triton.cdiv(n, block_m),)](
        a, b, a_unit, b_unit, inv_a, inv_b, positive, bad, n, dim, float(scale), EPS,
        a.stride(0), b.stride(0), a_unit.stride(0), b_unit.stride(0), BLOCK_M=block_m, BLOCK_D=block_d)
    return inv_a, inv_b, positive, bad


def unit_grad(x: torch.Tensor, inv: torch.Tensor, du: torch.Tensor | None, other: torch.Tensor,
              d_positive: torch.Tensor | None, scale: float) -> torch.Tensor:
    """The gradient ``(B, D)`` in ``x``'s dtype with respect to ``x`` of ``<du, x_hat> + <d_positive, positive>``,
    where ``x_hat = x * inv`` and ``positive_i = scale * x_hat_i . other_i`` (``None``: that term is absent)."""
    x, other = _row_major(x), _row_major(other)
    du = _row_major(du) if du is not None else None
    n, dim = x.shape
    dx = _empty(n, dim, device=x.device, dtype=x.dtype)
    block_m, block_d = _blocks(dim)
    _unit_grad_kernel[(triton.cdiv(n, block_m),)](
        x, inv, du if du is not None else x, other, d_positive.contiguous() if d_positive is not None else inv, dx,
        n, dim, float(scale), EPS, x.stride(0), du.stride(0) if du is not None else 0, other.stride(0), dx.stride(0),
        HAS_DU=du is not None, HAS_POS=d_positive is not None, BLOCK_M=block_m, BLOCK_D=block_d)
    return dx
