"""Triton kernels for the cross-entropy between a teacher and a student linear head over V prototypes, tile by tile
without the ``(S, V)`` logits: row programs for the loss and ``dh``, prototype-block programs for ``dW``; fp16
weights rescaled as in :func:`._triton_lse.half_rescaled` (design: docs/kernels.md)."""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from selfsup.core.kernels._triton_lse import (
    LOG2E,
    _block_d,
    _precision,
    half_rescaled,
    launcher,
    load_block,
    output_scale,
    program_block,
)

_empty = torch.empty  # output allocator (tests poison it)


@triton.jit
def _load_protos(W, WT, protos, proto_ok, offs_d, d_ok, stride_w, stride_wt):
    return (load_block(W, protos, proto_ok, offs_d, d_ok, stride_w),
            load_block(WT, protos, proto_ok, offs_d, d_ok, stride_wt))


@triton.jit
def _tiles(h, ht, w, wt, C, protos, proto_ok, s_scale2, t_scale2, HAS_CENTER: tl.constexpr,
           PRECISION: tl.constexpr):
    """Base-2 student and teacher logits of one (rows x prototypes) tile."""
    s = tl.dot(h, tl.trans(w), input_precision=PRECISION) * s_scale2
    t = tl.dot(ht, tl.trans(wt), input_precision=PRECISION)
    if HAS_CENTER:
        t -= tl.load(C + protos, mask=proto_ok, other=0.0)[None, :]
    t = t * t_scale2
    s = tl.where(proto_ok[None, :], s, float("-inf"))
    t = tl.where(proto_ok[None, :], t, float("-inf"))
    return s, t


@triton.jit
def _soft_ce_fwd_kernel(H, HT, W, WT, C, LSE_S, LSE_T, LOSS,
                        n_rows, n_protos, dim, s_scale2, t_scale2, stride_h, stride_ht, stride_w, stride_wt,
                        HAS_CENTER: tl.constexpr, PRECISION: tl.constexpr,
                        BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr):
    _, rows, row_ok, offs_d, d_ok, h = program_block(H, n_rows, dim, stride_h, BLOCK_M, BLOCK_D)
    ht = load_block(HT, rows, row_ok, offs_d, d_ok, stride_ht)
    m_s = tl.full([BLOCK_M], float("-inf"), tl.float32)
    l_s = tl.zeros([BLOCK_M], tl.float32)
    m_t = tl.full([BLOCK_M], float("-inf"), tl.float32)
    l_t = tl.zeros([BLOCK_M], tl.float32)
    acc = tl.zeros([BLOCK_M], tl.float32)  # sum_v 2^(t - m_t) * s   (s in base-2 units)
    for start in range(0, n_protos, BLOCK_N):
        protos = start + tl.arange(0, BLOCK_N)
        proto_ok = protos < n_protos
        w, wt = _load_protos(W, WT, protos, proto_ok, offs_d, d_ok, stride_w, stride_wt)
        s, t = _tiles(h, ht, w, wt, C, protos, proto_ok, s_scale2, t_scale2, HAS_CENTER, PRECISION)
        new_ms = tl.maximum(m_s, tl.max(s, 1))
        l_s = l_s * tl.exp2(m_s - new_ms) + tl.sum(tl.exp2(s - new_ms[:, None]), 1)
        m_s = new_ms
        new_mt = tl.maximum(m_t, tl.max(t, 1))
        rescale = tl.exp2(m_t - new_mt)
        pt = tl.exp2(t - new_mt[:, None])
        l_t = l_t * rescale + tl.sum(pt, 1)
        acc = acc * rescale + tl.sum(pt * tl.where(proto_ok[None, :], s, 0.0), 1)
        m_t = new_mt
    ln2 = 0.6931471805599453
    lse_s = (m_s + tl.log2(l_s)) * ln2
    tl.store(LSE_S + rows, lse_s, mask=row_ok)
    tl.store(LSE_T + rows, (m_t + tl.log2(l_t)) * ln2, mask=row_ok)
    tl.store(LOSS + rows, lse_s - acc / l_t * ln2, mask=row_ok)


@triton.jit
def _soft_ce_bwd_rows_kernel(H, HT, W, WT, C, LSE_S, LSE_T, G, DH, INV_F,
                             n_rows, n_protos, dim, s_scale2, t_scale2, stride_h, stride_ht, stride_w, stride_wt,
                             stride_dh, HAS_CENTER: tl.constexpr, PRECISION: tl.constexpr,
                             RESCALED: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
                             BLOCK_D: tl.constexpr):
    _, rows, row_ok, offs_d, d_ok, h = program_block(H, n_rows, dim, stride_h, BLOCK_M, BLOCK_D)
    ht = load_block(HT, rows, row_ok, offs_d, d_ok, stride_ht)
    # padded rows get an infinite normaliser: their probabilities are 0, never inf
    lse_s2 = tl.load(LSE_S + rows, mask=row_ok, other=float("inf")) * 1.4426950408889634
    lse_t2 = tl.load(LSE_T + rows, mask=row_ok, other=float("inf")) * 1.4426950408889634
    g = tl.load(G + rows, mask=row_ok, other=0.0)
    acc = tl.zeros([BLOCK_M, BLOCK_D], tl.float32)
    for start in range(0, n_protos, BLOCK_N):
        protos = start + tl.arange(0, BLOCK_N)
        proto_ok = protos < n_protos
        w, wt = _load_protos(W, WT, protos, proto_ok, offs_d, d_ok, stride_w, stride_wt)
        s, t = _tiles(h, ht, w, wt, C, protos, proto_ok, s_scale2, t_scale2, HAS_CENTER, PRECISION)
        ds = (tl.exp2(s - lse_s2[:, None]) - tl.exp2(t - lse_t2[:, None])) * g[:, None]
        acc += tl.dot(ds.to(w.dtype), w, input_precision=PRECISION)
    acc = acc * output_scale(1.0, INV_F, RESCALED)
    tl.store(DH + rows[:, None] * stride_dh + offs_d[None, :], acc, mask=row_ok[:, None] & d_ok[None, :])


@triton.jit
def _soft_ce_bwd_protos_kernel(H, HT, W, WT, C, LSE_S, LSE_T, G, DW, INV_F,
                               n_rows, n_protos, dim, s_scale2, t_scale2, stride_h, stride_ht, stride_w, stride_wt,
                               stride_dw, HAS_CENTER: tl.constexpr, PRECISION: tl.constexpr,
                               RESCALED: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
                               BLOCK_D: tl.constexpr):
    pid = tl.program_id(0)
    protos = pid * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, BLOCK_D)
    proto_ok = protos < n_protos
    d_ok = offs_d < dim
    w, wt = _load_protos(W, WT, protos, proto_ok, offs_d, d_ok, stride_w, stride_wt)
    acc = tl.zeros([BLOCK_N, BLOCK_D], tl.float32)
    for start in range(0, n_rows, BLOCK_M):
        rows = start + tl.arange(0, BLOCK_M)
        row_ok = rows < n_rows
        h = load_block(H, rows, row_ok, offs_d, d_ok, stride_h)
        ht = load_block(HT, rows, row_ok, offs_d, d_ok, stride_ht)
        lse_s2 = tl.load(LSE_S + rows, mask=row_ok, other=float("inf")) * 1.4426950408889634
        lse_t2 = tl.load(LSE_T + rows, mask=row_ok, other=float("inf")) * 1.4426950408889634
        g = tl.load(G + rows, mask=row_ok, other=0.0)
        s, t = _tiles(h, ht, w, wt, C, protos, proto_ok, s_scale2, t_scale2, HAS_CENTER, PRECISION)
        ds = (tl.exp2(s - lse_s2[:, None]) - tl.exp2(t - lse_t2[:, None])) * g[:, None]
        acc += tl.dot(tl.trans(ds.to(h.dtype)), h, input_precision=PRECISION)
    acc = acc * output_scale(1.0, INV_F, RESCALED)
    tl.store(DW + protos[:, None] * stride_dw + offs_d[None, :], acc, mask=proto_ok[:, None] & d_ok[None, :])


_KEY = ["n_rows", "n_protos", "dim", "HAS_CENTER"]
_BLOCKS = [(64, 64), (128, 64), (64, 128)]
# The head's tiles hold two operand pairs: from BLOCK_D=256 on, of the usual configurations only 64 x 64 at 8 warps
# and 2 stages fits an sm_90 block; these fit, spill nothing and use wgmma (benchmarks/results/kernels-sm90-static.md).
_WIDE_FORWARD = [(64, 64, 8, 2), (128, 32, 8, 2), (128, 32, 8, 3), (64, 32, 8, 3)]
_WIDE_BACKWARD_ROWS = [(64, 64, 8, 2), (128, 32, 8, 2), (64, 32, 8, 3), (128, 64, 8, 1)]
_WIDE_BACKWARD_PROTOS = [(64, 64, 8, 2), (64, 32, 8, 2), (64, 32, 8, 3), (128, 64, 8, 1)]
_FORWARD = launcher(_soft_ce_fwd_kernel, _BLOCKS, _KEY, wide=_WIDE_FORWARD, wide_from=256)
_BACKWARD_ROWS = launcher(_soft_ce_bwd_rows_kernel, _BLOCKS, _KEY, wide=_WIDE_BACKWARD_ROWS, wide_from=256)
_BACKWARD_PROTOS = launcher(_soft_ce_bwd_protos_kernel, _BLOCKS, _KEY, wide=_WIDE_BACKWARD_PROTOS, wide_from=256)


def soft_ce_forward(h, w, ht, wt, center, student_temp, teacher_temp):
    """Per-row ``loss (S,)``, ``lse_s (S,)``, ``lse_t (S,)`` (fp32)."""
    n_rows, dim = h.shape
    lse_s, lse_t, loss = (_empty(n_rows, device=h.device, dtype=torch.float32) for _ in range(3))
    _FORWARD(lambda meta: (triton.cdiv(n_rows, meta["BLOCK_M"]),),
             h, ht, w, wt, center if center is not None else lse_s, lse_s, lse_t, loss,
             n_rows, w.shape[0], dim, LOG2E / student_temp, LOG2E / teacher_temp,
             h.stride(0), ht.stride(0), w.stride(0), wt.stride(0),
             HAS_CENTER=center is not None, PRECISION=_precision(h.dtype), BLOCK_D=_block_d(dim, "head"))
    return loss, lse_s, lse_t


def soft_ce_backward(h, w, ht, wt, center, student_temp, teacher_temp, lse_s, lse_t, g):
    """``dh (S, H)`` and ``dW (V, H)`` in fp32 for per-row upstream gradients ``g (S,)``."""
    n_rows, dim = h.shape
    n_protos = w.shape[0]
    g = (g / student_temp).contiguous()
    dh = _empty(n_rows, dim, device=h.device, dtype=torch.float32)
    dw = _empty(n_protos, dim, device=h.device, dtype=torch.float32)
    inv_f, g = half_rescaled(h.dtype, g)  # |g_i (p_s - p_t)| <= |g_i|
    flags = dict(HAS_CENTER=center is not None, PRECISION=_precision(h.dtype), RESCALED=inv_f is not None,
                 BLOCK_D=_block_d(dim, "head"))
    args = (h, ht, w, wt, center if center is not None else lse_s, lse_s, lse_t, g)
    inv = inv_f if inv_f is not None else g
    sizes = (n_rows, n_protos, dim, LOG2E / student_temp, LOG2E / teacher_temp,
             h.stride(0), ht.stride(0), w.stride(0), wt.stride(0))
    _BACKWARD_ROWS(lambda meta: (triton.cdiv(n_rows, meta["BLOCK_M"]),), *args, dh, inv, *sizes, dh.stride(0),
                   **flags)
    _BACKWARD_PROTOS(lambda meta: (triton.cdiv(n_protos, meta["BLOCK_N"]),), *args, dw, inv, *sizes, dw.stride(0),
                     **flags)
    return dh, dw
