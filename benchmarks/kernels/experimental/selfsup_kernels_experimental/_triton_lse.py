"""Triton kernels for the log-sum-exp of the rows and columns of ``scale * Q @ K^T``, never stored.

Two kernels at heart, both "row" kernels: a program owns a block of rows of its first operand and
streams every block of the second once; the one-pass variants below are timed against them (``"auto"``).

- forward: online softmax over the rows; the column LSE is the row LSE of ``K @ Q^T`` (a second
  launch with the operands swapped). The "fused" forward (:data:`FORWARD`) takes both from one pass:
  each tile's row softmax ``2^(s - m_i)``, times ``2^(m_i - bound)``, summed over the rows, is the
  tile's share of ``sum_i 2^(s_ij - bound)``, added atomically per column (``bound``: an upper bound
  of every logit); the few columns whose sum underflows get an exact column pass.
- backward: ``dS = g_r[:, None] * P_row + g_c[None, :] * P_col`` is recomputed tile by tile and
  ``dQ = scale * dS @ K`` accumulated in registers; ``dK`` is the same kernel with the operands
  (and the row/column statistics) swapped. The "fused" backward (:data:`BACKWARD`) is a column kernel instead
  that computes each tile once for both: ``dK`` in registers, ``dQ`` by atomic adds. The "gemm" backward computes
  each tile once without atomics: the row kernel, over a chunk of columns at a time, also stores that chunk's ``dS``
  and cuBLAS takes its ``dK = scale * dS^T @ Q`` (:func:`_grad_gemm`).
- direct exponentials (``DIRECT``, :data:`EXP`): where the caller bounds every logit (unit vectors at temperature
  >= 0.025, :func:`.contrastive_lse.direct_exponentials`), ``2^s`` itself is summed (no running max; the fused
  forward's column sums need no bound and no exact column pass) and the backward takes ``2^s * (w_r + w_c)`` with
  ``w = g * e^-lse``: one exponential per logit instead of two. An estimate, not yet timed on a GPU: at D=256
  the backward row kernel does ``4D`` = 1024 matmul FLOPs per logit, and an exponential takes the time of about
  256 tensor-core FLOPs on an H100 (16 per clock per SM against 4096), so the second one was up to a fifth of the
  kernel's time where the two do not overlap.
- warp-specialized (``WARP_SPECIALIZE``; the algorithms "rows-ws" and "gemm-ws", :func:`warp_specializable`): the
  row kernels with every load through a tensor (TMA) descriptor and the tile loop split by Triton's Hopper pass into a
  producer warpgroup and two consumers that share the K tiles (:mod:`._triton_tma`); not yet run on a GPU, so among
  ``"auto"``'s candidates only with ``SELFSUP_TRITON_WARP_SPECIALIZE=auto``.

Measured on an H100 at N=32768, D=256, bf16 (``benchmarks/kernels/profile_contrastive.py``): an
earlier single forward, which wrote per-row-block column partials with a second exponential per
logit, took 2.97 ms against 2.49 ms for two row passes, and a dedicated column kernel for dK 4.35 ms
against 4.01 ms for the swapped row kernel, so neither is kept. The "fused" and "gemm" variants here have
not been timed on a GPU yet; by default (``"auto"``, :func:`resolve_algorithm`) the losses time both algorithms
of each stage on a problem's first call and keep the faster. Accumulation is fp32 in base 2 whatever the operand
dtype.

fp16 operands: the backward's ``dS`` goes to the tensor cores in the operands' dtype, and fp16 keeps 5 exponent
bits, so the weights are first scaled by a power of two (:func:`half_grad_scale`) and the products scaled back in
fp32 (``RESCALED``).
"""

from __future__ import annotations

import os

import torch
import triton
import triton.language as tl

from selfsup_kernels_experimental import _algorithm_tuner
from selfsup_kernels_experimental._chunked_lse import direct_weights
from selfsup_kernels_experimental._triton_tma import (
    TMA_MAX_BLOCK,
    ensure_allocator,
    load_block,
    load_entries,
    load_rows,
    matrix_source,
    tma_ready,
    vector_source,
)
from selfsup_kernels_experimental.contrastive_lse import TRITON_MAX_DIM

_empty = torch.empty  # output allocator (tests poison it)

LOG2E = 1.4426950408889634
LN2 = 0.6931471805599453


@triton.jit
def program_block(PTR, n, dim, stride, BLOCK: tl.constexpr, BLOCK_D: tl.constexpr, TMA: tl.constexpr = False):
    """This program's block of ``BLOCK`` rows of a row-major ``(n, dim)`` matrix: its first index, the indices and
    their mask, the feature offsets and their mask, and the ``(BLOCK, BLOCK_D)`` tile (zero outside; ``TMA``: read
    through a tensor descriptor, :mod:`._triton_tma`)."""
    first = tl.program_id(0) * BLOCK
    idx = first + tl.arange(0, BLOCK)
    offs_d = tl.arange(0, BLOCK_D)
    idx_ok = idx < n
    d_ok = offs_d < dim
    tile = load_rows(matrix_source(PTR, n, dim, stride, BLOCK, BLOCK_D, TMA), first, idx, idx_ok, offs_d, d_ok,
                     stride, TMA)
    return first, idx, idx_ok, offs_d, d_ok, tile


@triton.jit
def load_stats(LSE, G, idx, idx_ok, first=0, TMA: tl.constexpr = False):
    """The base-2 LSE and the upstream gradient of rows (or columns) ``idx``, zero outside; ``TMA``: ``LSE`` and
    ``G`` are :func:`._triton_tma.vector_source` descriptors and ``idx`` starts at ``first``."""
    return (load_entries(LSE, first, idx, idx_ok, 0.0, TMA) * 1.4426950408889634,
            load_entries(G, first, idx, idx_ok, 0.0, TMA))


@triton.jit
def _tile_logits(q, k, cols, col_ok, excl, scale_log2, HAS_EXCL: tl.constexpr, PRECISION: tl.constexpr):
    """Base-2 logits ``scale * q @ k^T`` of one tile; -inf at padded and excluded columns."""
    s = tl.dot(q, tl.trans(k), input_precision=PRECISION) * scale_log2
    valid = col_ok[None, :]
    if HAS_EXCL:
        valid = valid & (cols[None, :] != excl[:, None])
    return tl.where(valid, s, float("-inf"))


# A column sum relative to the logits' upper bound below this (base 2) is recomputed exactly by a column pass.
TINY_COLUMN_SUM = 2.0 ** -100


@triton.jit
def _lse_fwd_kernel(Q, K, EXCL, LSE, BOUND, COLSUM, n_rows, n_cols, dim, scale_log2, stride_q, stride_k,
                    HAS_EXCL: tl.constexpr, PRECISION: tl.constexpr, COLUMN_SUMS: tl.constexpr,
                    ONLY_TINY: tl.constexpr, DIRECT: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
                    BLOCK_D: tl.constexpr, WARP_SPECIALIZE: tl.constexpr = False):
    """Row LSE by online softmax over the column blocks; ``DIRECT`` (every base-2 logit within about +-58, see
    :func:`.contrastive_lse.direct_exponentials`): by plain sums of ``2^s``, no running max.

    ``COLUMN_SUMS``: the same pass also adds, for each column, ``sum_i 2^(s_ij - bound)`` into ``COLSUM``
    (atomically, one BLOCK_N vector per tile) with ``bound`` (``BOUND[0]``) an upper bound of every base-2
    logit; from the row softmax's ``p_ij = 2^(s_ij - m_i)`` it costs a multiply by ``2^(m_i - bound)`` and a sum,
    no second exponential. ``ONLY_TINY``: the rows whose ``COLSUM`` is below ``TINY_COLUMN_SUM`` (their sum lost
    to underflow) are done, the others skipped (a program with none scans no column). With ``DIRECT`` the column
    sums are ``sum_i 2^s_ij`` themselves (no bound, none underflows).

    ``WARP_SPECIALIZE`` (row LSE only): the loads through tensor descriptors and the loop split into producer and
    consumer warpgroups (:mod:`._triton_tma`).
    """
    tl.static_assert(not (WARP_SPECIALIZE and (COLUMN_SUMS or ONLY_TINY)), "warp-specialized: row LSE only")
    pid = tl.program_id(0)
    first = pid * BLOCK_M
    rows = first + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, BLOCK_D)
    row_ok = rows < n_rows
    d_ok = offs_d < dim
    n_scan = n_cols
    if ONLY_TINY:  # 7.9e-31 = 2^-100; a block without a tiny row scans no column
        row_ok = row_ok & (tl.load(COLSUM + rows, mask=row_ok, other=1.0) < 7.888609052210118e-31)
        n_scan = tl.where(tl.max(row_ok.to(tl.int32), 0) > 0, n_cols, 0)
    q = load_rows(matrix_source(Q, n_rows, dim, stride_q, BLOCK_M, BLOCK_D, WARP_SPECIALIZE), first, rows, row_ok,
                  offs_d, d_ok, stride_q, WARP_SPECIALIZE)
    k_src = matrix_source(K, n_cols, dim, stride_k, BLOCK_N, BLOCK_D, WARP_SPECIALIZE)
    excl = rows
    if HAS_EXCL:  # past the rows: -1, or 0 through a descriptor (those rows are not stored)
        excl = load_entries(vector_source(EXCL, n_rows, BLOCK_M, WARP_SPECIALIZE), first, rows, row_ok, -1,
                            WARP_SPECIALIZE)
    bound = 0.0
    if COLUMN_SUMS and not DIRECT:
        bound = tl.load(BOUND)
    m_i = tl.full([BLOCK_M], float("-inf"), tl.float32)
    l_i = tl.zeros([BLOCK_M], tl.float32)
    for start in tl.range(0, n_scan, BLOCK_N, warp_specialize=WARP_SPECIALIZE):
        cols = start + tl.arange(0, BLOCK_N)
        col_ok = cols < n_cols
        k = load_rows(k_src, start, cols, col_ok, offs_d, d_ok, stride_k, WARP_SPECIALIZE)
        s = _tile_logits(q, k, cols, col_ok, excl, scale_log2, HAS_EXCL, PRECISION)
        if DIRECT:
            p = tl.exp2(s)
            l_i += tl.sum(p, 1)
            if COLUMN_SUMS:  # padded rows (q = 0, p = 1) add nothing
                tl.atomic_add(COLSUM + cols, tl.sum(tl.where(row_ok[:, None], p, 0.0), 0), mask=col_ok,
                              sem="relaxed")
        else:
            m_new = tl.maximum(m_i, tl.max(s, 1))
            m_safe = tl.where(m_new == float("-inf"), 0.0, m_new)
            p = tl.exp2(s - m_safe[:, None])
            l_i = l_i * tl.exp2(m_i - m_safe) + tl.sum(p, 1)
            m_i = m_new
            if COLUMN_SUMS:
                w = tl.where(row_ok, tl.exp2(m_safe - bound), 0.0)  # padded rows (q = 0) add nothing
                tl.atomic_add(COLSUM + cols, tl.sum(p * w[:, None], 0), mask=col_ok, sem="relaxed")
    if DIRECT:
        m_i = tl.zeros([BLOCK_M], tl.float32)
    tl.store(LSE + rows, (m_i + tl.log2(l_i)) * 0.6931471805599453, mask=row_ok)


@triton.jit
def load_grad_stats(LSE, G, idx, idx_ok, DIRECT: tl.constexpr, first=0, TMA: tl.constexpr = False):
    """``(lse2, g)`` of rows (or columns) ``idx`` as :func:`load_stats`; ``DIRECT``: ``G`` holds the weights
    ``g * e^-lse`` and the LSE is not read (zeros)."""
    if DIRECT:  # one return statement: a compiled kernel generates the code after a static branch's return too
        lse2, g = tl.zeros(idx.shape, tl.float32), load_entries(G, first, idx, idx_ok, 0.0, TMA)
    else:
        lse2, g = load_stats(LSE, G, idx, idx_ok, first, TMA)
    return lse2, g


@triton.jit
def grad_tile(s, lse_r2, g_r, lse_c2, g_c, HAS_ROW: tl.constexpr, HAS_COL: tl.constexpr, DIRECT: tl.constexpr):
    """``dS = g_r[:, None] * P_row + g_c[None, :] * P_col`` of one tile of base-2 logits ``s``, fp32;
    ``DIRECT``: ``2^s * (w_r[:, None] + w_c[None, :])`` with the weights ``w = g * e^-lse`` in ``g_r``, ``g_c``,
    one exponential per logit."""
    if DIRECT:
        e = tl.exp2(s)
        if HAS_ROW and HAS_COL:
            p = e * (g_r[:, None] + g_c[None, :])
        elif HAS_ROW:
            p = e * g_r[:, None]
        else:
            p = e * g_c[None, :]
    else:
        p = tl.zeros(s.shape, tl.float32)
        if HAS_ROW:
            p += tl.exp2(s - lse_r2[:, None]) * g_r[:, None]
        if HAS_COL:
            p += tl.exp2(s - lse_c2[None, :]) * g_c[None, :]
    return p


@triton.jit
def output_scale(scale, INV_F, RESCALED: tl.constexpr):
    """``scale``, times ``INV_F[0]`` (``1 / f``, :func:`half_grad_scale`) where the weights came scaled by ``f``."""
    if RESCALED:
        return scale * tl.load(INV_F)
    return scale


@triton.jit
def _lse_bwd_kernel(Q, K, EXCL, LSE_R, LSE_C, G_R, G_C, DQ, INV_F, DS,
                    n_rows, n_cols, col_lo, col_hi, dim, scale_log2, scale, stride_q, stride_k, stride_dq, stride_ds,
                    HAS_EXCL: tl.constexpr, HAS_ROW: tl.constexpr, HAS_COL: tl.constexpr, PRECISION: tl.constexpr,
                    DIRECT: tl.constexpr, RESCALED: tl.constexpr, STORE_DS: tl.constexpr, ACCUMULATE: tl.constexpr,
                    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr,
                    WARP_SPECIALIZE: tl.constexpr = False):
    """``dQ = scale * sum_j (g_r_i P_row_ij + g_c_j P_col_ij) K_j`` for a block of rows (:func:`grad_tile`);
    ``RESCALED``: the ``g`` (or weights) came multiplied by ``f`` and ``INV_F`` holds ``1 / f``. ``STORE_DS``: over
    the columns ``col_lo <= j < col_hi`` only (otherwise all ``n_cols``), and each tile's ``dS`` (as cast for the
    tensor cores) is also stored, at ``DS[i, j - col_lo]``; ``ACCUMULATE``: ``dQ`` (fp32) is added to what ``DQ``
    holds. ``WARP_SPECIALIZE``: the loads through tensor descriptors and the loop split into producer and consumer
    warpgroups (:mod:`._triton_tma`)."""
    TMA: tl.constexpr = WARP_SPECIALIZE
    first, rows, row_ok, offs_d, d_ok, q = program_block(Q, n_rows, dim, stride_q, BLOCK_M, BLOCK_D, TMA)
    k_src = matrix_source(K, n_cols, dim, stride_k, BLOCK_N, BLOCK_D, TMA)
    lse_r2 = tl.zeros([BLOCK_M], tl.float32)
    g_r = tl.zeros([BLOCK_M], tl.float32)
    lse_c2 = tl.zeros([BLOCK_N], tl.float32)
    g_c = tl.zeros([BLOCK_N], tl.float32)
    if HAS_ROW:
        lse_r2, g_r = load_grad_stats(vector_source(LSE_R, n_rows, BLOCK_M, TMA and not DIRECT),
                                      vector_source(G_R, n_rows, BLOCK_M, TMA), rows, row_ok, DIRECT, first, TMA)
    if HAS_COL:
        lse_c_src = vector_source(LSE_C, n_cols, BLOCK_N, TMA and not DIRECT)
        g_c_src = vector_source(G_C, n_cols, BLOCK_N, TMA)
    excl = rows
    if HAS_EXCL:  # past the rows: -1, or 0 through a descriptor (those rows are not stored)
        excl = load_entries(vector_source(EXCL, n_rows, BLOCK_M, TMA), first, rows, row_ok, -1, TMA)
    acc = tl.zeros([BLOCK_M, BLOCK_D], tl.float32)
    lo = 0
    hi = n_cols
    if STORE_DS:
        lo = col_lo
        hi = col_hi
    for start in tl.range(lo, hi, BLOCK_N, warp_specialize=WARP_SPECIALIZE):
        cols = start + tl.arange(0, BLOCK_N)
        col_ok = cols < hi
        k = load_rows(k_src, start, cols, col_ok, offs_d, d_ok, stride_k, TMA)
        s = _tile_logits(q, k, cols, col_ok, excl, scale_log2, HAS_EXCL, PRECISION)
        if HAS_COL:
            lse_c2, g_c = load_grad_stats(lse_c_src, g_c_src, cols, col_ok, DIRECT, start, TMA)
        p = grad_tile(s, lse_r2, g_r, lse_c2, g_c, HAS_ROW, HAS_COL, DIRECT).to(k.dtype)
        acc += tl.dot(p, k, input_precision=PRECISION)
        if STORE_DS:
            tl.store(DS + rows[:, None] * stride_ds + (cols - col_lo)[None, :], p,
                     mask=row_ok[:, None] & col_ok[None, :])
    acc = acc * output_scale(scale, INV_F, RESCALED)
    out = DQ + rows[:, None] * stride_dq + offs_d[None, :]
    mask = row_ok[:, None] & d_ok[None, :]
    if ACCUMULATE:
        acc += tl.load(out, mask=mask, other=0.0)
    tl.store(out, acc.to(DQ.dtype.element_ty), mask=mask)


@triton.jit
def _lse_bwd_fused_kernel(Q, K, EXCL, LSE_R, LSE_C, G_R, G_C, DQ, DK, INV_F,
                          n_rows, n_cols, dim, scale_log2, scale, stride_q, stride_k, stride_dq, stride_dk,
                          HAS_EXCL: tl.constexpr, HAS_ROW: tl.constexpr, HAS_COL: tl.constexpr,
                          PRECISION: tl.constexpr, DIRECT: tl.constexpr, RESCALED: tl.constexpr,
                          BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr):
    """One pass over the tiles for both gradients: a program owns a block of columns (keys), accumulates
    ``dK = scale * dS^T @ Q`` in registers and adds each tile's ``scale * dS @ K`` into ``DQ`` (fp32, zeroed)
    atomically. ``dS`` as in :func:`grad_tile`; ``RESCALED`` as in :func:`_lse_bwd_kernel`."""
    _, cols, col_ok, offs_d, d_ok, k = program_block(K, n_cols, dim, stride_k, BLOCK_N, BLOCK_D)
    out_scale = output_scale(scale, INV_F, RESCALED)
    lse_c2 = tl.zeros([BLOCK_N], tl.float32)
    g_c = tl.zeros([BLOCK_N], tl.float32)
    lse_r2 = tl.zeros([BLOCK_M], tl.float32)
    g_r = tl.zeros([BLOCK_M], tl.float32)
    if HAS_COL:
        lse_c2, g_c = load_grad_stats(LSE_C, G_C, cols, col_ok, DIRECT)
    acc = tl.zeros([BLOCK_N, BLOCK_D], tl.float32)
    for start in range(0, n_rows, BLOCK_M):
        rows = start + tl.arange(0, BLOCK_M)
        row_ok = rows < n_rows
        q = load_block(Q, rows, row_ok, offs_d, d_ok, stride_q)
        excl = rows
        if HAS_EXCL:
            excl = tl.load(EXCL + rows, mask=row_ok, other=-1)
        s = _tile_logits(q, k, cols, col_ok, excl, scale_log2, HAS_EXCL, PRECISION)  # padded rows: q = 0, no dK
        if HAS_ROW:
            lse_r2, g_r = load_grad_stats(LSE_R, G_R, rows, row_ok, DIRECT)
        p_op = grad_tile(s, lse_r2, g_r, lse_c2, g_c, HAS_ROW, HAS_COL, DIRECT).to(k.dtype)
        acc += tl.dot(tl.trans(p_op), q, input_precision=PRECISION)
        dq = tl.dot(p_op, k, input_precision=PRECISION) * out_scale
        tl.atomic_add(DQ + rows[:, None] * stride_dq + offs_d[None, :], dq, mask=row_ok[:, None] & d_ok[None, :],
                      sem="relaxed")
    tl.store(DK + cols[:, None] * stride_dk + offs_d[None, :], (acc * out_scale).to(DK.dtype.element_ty),
             mask=col_ok[:, None] & d_ok[None, :])


def _interpreting() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


def _autotuning() -> bool:
    """Autotune on a GPU unless ``SELFSUP_TRITON_AUTOTUNE=0`` (tests: one configuration, fast compiles)."""
    return not _interpreting() and os.environ.get("SELFSUP_TRITON_AUTOTUNE", "1") != "0"


def _precision(dtype: torch.dtype) -> str:
    """fp32 operands follow torch's matmul precision setting (exact fp32 unless tf32 is allowed)."""
    if dtype == torch.float32 and torch.get_float32_matmul_precision() == "highest":
        return "ieee"
    return "tf32"


def _block_d(dim: int, kernel: str = "contrastive") -> int:
    """The feature block for ``dim``; past the widest block of ``kernel`` (:data:`.contrastive_lse.TRITON_MAX_DIM`,
    which the dispatcher checks first) a ValueError."""
    block_d = max(16, triton.next_power_of_2(dim))
    if block_d > TRITON_MAX_DIM[kernel]:
        raise ValueError(f"the Triton {kernel} kernel supports feature dims up to {TRITON_MAX_DIM[kernel]}, got {dim}")
    return block_d


WARPS_STAGES = ((4, 3), (8, 2), (8, 3), (8, 4))  # (num_warps, num_stages) tried with every block pair
# One warpgroup per program and two programs per sm_90 multiprocessor, so that one's exponentials can run while the
# other's matmul does: a program of 8 warps synchronises its two warpgroups at every tile (the loads' ``bar.sync``), so
# their exponentials and matmuls alternate instead. At D=256 the row kernels and the 2N form's forward take 96-104
# KiB of shared memory and at most 255 registers per thread (128 threads) in this configuration, so two fit, without
# spills except 2-4 in the 2N form's row backward (``benchmarks/kernels/sm90_static.py``, column "per SM"). Of the
# usual configurations no backward fits two, and the forwards only at 64 x 64, 8 warps and 2 stages, whose warpgroups
# split the 64 columns (m64n32 wgmma: 3 KiB read from shared memory per 64 Ki FLOPs, against 4 KiB per 128 Ki at
# m64n64). Not timed yet.
TWO_PER_SM = [(64, 64, 4, 2)]
WIDE_BLOCK_D = 512  # feature blocks from this on take a launcher's ``wide`` configurations


def launcher(kernel, blocks: list[tuple[int, int]], key: list[str], reset_to_zero: list[str] | None = None,
             wide: list[tuple[int, int, int, int]] | None = None, wide_from: int = WIDE_BLOCK_D,
             restore_value: list[str] | None = None, extra: list[tuple[int, int, int, int]] | None = None,
             default: tuple[int, int, int, int] = (64, 64, 8, 3), warp_specialize: bool = False):
    """Autotuned launcher on a GPU over (BLOCK_M, BLOCK_N) pairs x :data:`WARPS_STAGES`, and the
    ``(BLOCK_M, BLOCK_N, num_warps, num_stages)`` of ``extra`` besides (e.g. :data:`TWO_PER_SM`); otherwise one
    configuration: ``default`` on a GPU, 32 x 32 at 4 warps under the interpreter.
    ``launch(grid_fn, *args, **kwargs)``. ``reset_to_zero``: the outputs
    a kernel accumulates into (atomically), zeroed before each configuration the autotuner tries and before the real
    launch, which would otherwise add every trial's result; ``restore_value``: the outputs a kernel adds to what they
    held before the launch, copied before the trials and restored after each. ``warp_specialize``: every launch
    passes ``WARP_SPECIALIZE=True`` and first makes sure Triton has a scratch allocator for the tensor descriptors
    the kernel then makes (:mod:`._triton_tma`).

    ``wide``: the ``(BLOCK_M, BLOCK_N, num_warps, num_stages)`` tried instead from ``BLOCK_D`` = ``wide_from``
    (:data:`WIDE_BLOCK_D`) on, where a Q block and the pipelined K blocks of the usual sizes pass the 227 KiB of shared
    memory of an sm_90 block (``benchmarks/kernels/sm90_static.py`` compiles each for the H100 without a GPU: at
    D=512 one of the twelve usual configurations of the row kernels fitted, none of the symmetric backward's).
    ``launch.kernel``, ``launch.configs_for(block_d)`` and ``launch.warp_specialized`` say what it runs."""
    usual = list(dict.fromkeys([(m, n, w, st) for m, n in blocks for w, st in WARPS_STAGES] + (extra or [])))

    def configs_for(block_d: int) -> list[tuple[int, int, int, int]]:
        return wide if wide and block_d >= wide_from else usual

    tuned = None
    if not _autotuning():
        def run(grid, *args, **kwargs):
            if _interpreting():
                block_m = block_n = 32
                warps, stages = 4, 3
            elif wide and kwargs["BLOCK_D"] >= wide_from:
                block_m, block_n, warps, stages = wide[0]
            else:
                block_m, block_n, warps, stages = default
            meta = {"BLOCK_M": block_m, "BLOCK_N": block_n}
            return kernel[grid(meta)](*args, **kwargs, **meta, num_warps=warps, num_stages=stages)
    else:
        configs = [triton.Config({"BLOCK_M": m, "BLOCK_N": n}, num_warps=w, num_stages=st)
                   for m, n, w, st in dict.fromkeys(usual + (wide or []))]  # each once, in both lists or not

        def prune(candidates, named_args, **kwargs):
            chosen = configs_for(kwargs["BLOCK_D"])
            return [c for c in candidates
                    if (c.kwargs["BLOCK_M"], c.kwargs["BLOCK_N"], c.num_warps, c.num_stages) in chosen]

        tuned = triton.autotune(configs=configs, key=key, reset_to_zero=reset_to_zero, restore_value=restore_value,
                                prune_configs_by={"early_config_prune": prune})(kernel)

        def run(grid, *args, **kwargs):
            return tuned[grid](*args, **kwargs)

    def launch(grid, *args, **kwargs):
        if warp_specialize:
            ensure_allocator()
            kwargs["WARP_SPECIALIZE"] = True
        return run(grid, *args, **kwargs)
    if tuned is not None:
        launch.tuned = tuned
    launch.kernel, launch.configs_for, launch.warp_specialized = kernel, configs_for, warp_specialize
    launch.reset_to_zero, launch.restore_value = reset_to_zero or [], restore_value or []
    return launch


# At BLOCK_D=512 (feature dims 257..512), configurations that fit an sm_90 block's shared memory without spilling
# registers, from benchmarks/results/kernels-sm90-static.md; the autotuner times them on the GPU.
_WIDE_FORWARD = [(128, 32, 8, 2), (128, 32, 8, 3), (64, 64, 8, 2), (64, 32, 8, 3)]
_WIDE_BACKWARD = [(64, 32, 8, 2), (64, 64, 8, 2), (32, 64, 8, 2), (32, 64, 8, 3)]
_WIDE_BACKWARD_FUSED = [(32, 32, 8, 2), (32, 32, 8, 3), (16, 64, 8, 2), (16, 64, 8, 3)]
_KEY = ["n_rows", "n_cols", "dim", "HAS_EXCL", "DIRECT"]  # each specialisation tuned on its own
_FORWARD = launcher(_lse_fwd_kernel, [(128, 64), (128, 128), (64, 64)], [*_KEY, "ONLY_TINY"], wide=_WIDE_FORWARD,
                    extra=TWO_PER_SM)
_FORWARD_COLUMN_SUMS = launcher(_lse_fwd_kernel, [(128, 64), (128, 128), (64, 64)], _KEY, reset_to_zero=["COLSUM"],
                                wide=_WIDE_FORWARD, extra=TWO_PER_SM)
_BACKWARD = launcher(_lse_bwd_kernel, [(64, 64), (64, 128), (128, 64)], [*_KEY, "HAS_ROW", "HAS_COL"],
                     wide=_WIDE_BACKWARD, extra=TWO_PER_SM)
# The same kernel storing dS chunk by chunk for cuBLAS (:func:`_grad_gemm`), tuned apart; it adds into dQ.
_BACKWARD_STORE_DS = launcher(_lse_bwd_kernel, [(64, 64), (64, 128), (128, 64)],
                              [*_KEY, "HAS_ROW", "HAS_COL"], wide=_WIDE_BACKWARD, restore_value=["DQ"],
                              extra=TWO_PER_SM)
# The warp-specialized row kernels (:mod:`._triton_tma`; the losses' "rows-ws" and "gemm-ws" algorithms): 4 warps
# per program become 12 (a producer warpgroup and two consumers), feature blocks up to 256 (a TMA block's limit). Rows
# blocks of 128 or more only: the pass gives each consumer half of them, but a 64-row block (one wgmma's height)
# whole to both (the TTGIR: the same rows, stored twice; a launch adding into dQ would add twice). The configurations
# that compile for sm_90 at D=256 bf16 within an sm_90 block's 227 KiB of shared memory and without spills
# (``benchmarks/kernels/sm90_static.py``): the forward takes 129-193 KiB; the backward 145-195 KiB for a bf16 dQ, and
# storing dS with an fp32 dQ (the gemm backward's) 225 KiB at the one configuration of its list, where the launches
# that add into dQ (``ACCUMULATE``) spill in the epilogue (a consumer's 64 x 256 fp32 tile twice).
WARP_SPECIALIZED_FORWARD = [(128, 64, 4, 2), (128, 64, 4, 3), (128, 64, 4, 4), (128, 128, 4, 2), (256, 64, 4, 2)]
WARP_SPECIALIZED_BACKWARD = [(128, 64, 4, 2), (128, 64, 4, 3), (128, 32, 4, 3), (128, 32, 4, 4)]
WARP_SPECIALIZED_STORE_DS = [(128, 32, 4, 2)]
_FORWARD_WS = launcher(_lse_fwd_kernel, [], [*_KEY, "ONLY_TINY"], extra=WARP_SPECIALIZED_FORWARD,
                       default=WARP_SPECIALIZED_FORWARD[0], warp_specialize=True)
_BACKWARD_WS = launcher(_lse_bwd_kernel, [], [*_KEY, "HAS_ROW", "HAS_COL"], extra=WARP_SPECIALIZED_BACKWARD,
                        default=WARP_SPECIALIZED_BACKWARD[0], warp_specialize=True)
_BACKWARD_STORE_DS_WS = launcher(_lse_bwd_kernel, [], [*_KEY, "HAS_ROW", "HAS_COL"], restore_value=["DQ"],
                                 extra=WARP_SPECIALIZED_STORE_DS, default=WARP_SPECIALIZED_STORE_DS[0],
                                 warp_specialize=True)
_BACKWARD_FUSED = launcher(_lse_bwd_fused_kernel, [(32, 64), (64, 64), (32, 128), (64, 128), (128, 64)],
                           [*_KEY, "HAS_ROW", "HAS_COL"], reset_to_zero=["DQ"], wide=_WIDE_BACKWARD_FUSED)

# The forward the losses use for row + column LSE: "rows" (the row kernel twice), "fused" (one pass, column sums
# added atomically) or "auto" (both timed on the first call of each problem, the faster kept: :mod:`._algorithm_tuner`);
# ``SELFSUP_TRITON_FORWARD`` overrides it.
FORWARD = "auto"
# The backward the losses use: "rows" (two row-kernel launches, each tile computed twice, deterministic), "fused"
# (one pass, dQ added atomically), "gemm" (one row-kernel pass that also stores dS by chunks, dK by cuBLAS) or "auto";
# ``SELFSUP_TRITON_BACKWARD`` overrides it.
BACKWARD = "auto"
# SimCLR's 2N form (row LSE of Z @ Z^T, diagonal left out): "rows" (the kernels above on (Z, Z)), "symmetric"
# (:mod:`._triton_self_lse`, the upper triangle of tiles only) or "auto"; ``SELFSUP_TRITON_SELF`` overrides it.
SELF = "auto"
# The warp-specialized row kernels (:mod:`._triton_tma`, algorithms "rows-ws" and "gemm-ws") among the "auto"
# candidates of the forward and the backward: "off" (they run only where named) or "auto"; ``SELFSUP_TRITON_WARP_
# SPECIALIZE`` overrides it. Off by default until they have run on a GPU: their producer/consumer split is Triton's
# own experimental Hopper pass.
WARP_SPECIALIZE = "off"
# Where the caller bounds the logits (:func:`.contrastive_lse.direct_exponentials`): "direct" (``2^s`` itself, no
# running max, one exponential per logit in the backward instead of two) or "online" (as for unbounded logits);
# ``SELFSUP_TRITON_EXP`` overrides it.
EXP = "direct"
# The losses' prologue and its gradient (:mod:`.unit_pair`): "fused" (L2 normalisation and positive logits in one
# kernel, their gradient in one per view, :mod:`._triton_unit_pair`) or "torch" (F.normalize and some forty full-size
# PyTorch ops over the forward and backward); ``SELFSUP_TRITON_NORMALIZE`` overrides it.
NORMALIZE = "fused"


def transpose_exclusion(exclude: torch.Tensor | None, n_cols: int) -> torch.Tensor | None:
    """For ``exclude[i] = j`` (row i leaves out column j), the map from columns to the row they leave out."""
    if exclude is None:
        return None
    hit = exclude >= 0
    out = torch.full((n_cols,), -1, dtype=exclude.dtype, device=exclude.device)
    out[exclude[hit].long()] = torch.arange(exclude.shape[0], device=exclude.device, dtype=exclude.dtype)[hit]
    return out


def _row_lse(a: torch.Tensor, b: torch.Tensor, exclude, scale: float, *, out: torch.Tensor | None = None,
             bound: torch.Tensor | None = None, colsum: torch.Tensor | None = None,
             only_tiny: bool = False, direct: bool = False, warp_specialize: bool = False) -> torch.Tensor:
    """Row LSE of ``scale * a @ b.T`` into ``out`` (new if None); with ``colsum`` (and ``bound``, unless ``direct``)
    the column sums are added into ``colsum``; ``only_tiny`` fills only the rows whose ``colsum`` is tiny (see
    :func:`_lse_fwd_kernel`). ``warp_specialize`` (row LSE only): the warp-specialized kernel."""
    n_rows, dim = a.shape
    lse = _empty(n_rows, device=a.device, dtype=torch.float32) if out is None else out
    column_sums = colsum is not None and not only_tiny
    if warp_specialize and colsum is not None:
        raise ValueError("the warp-specialized forward computes row LSE only")
    launch = _FORWARD_WS if warp_specialize else _FORWARD_COLUMN_SUMS if column_sums else _FORWARD
    launch(lambda meta: (triton.cdiv(n_rows, meta["BLOCK_M"]),),
           a, b, exclude if exclude is not None else lse, lse, bound if bound is not None else lse,
           colsum if colsum is not None else lse, n_rows, b.shape[0], dim, scale * LOG2E,
           a.stride(0), b.stride(0), HAS_EXCL=exclude is not None, PRECISION=_precision(a.dtype),
           COLUMN_SUMS=column_sums, ONLY_TINY=only_tiny, DIRECT=direct, BLOCK_D=_block_d(dim))
    return lse


def logit_bound_log2(q: torch.Tensor, k: torch.Tensor, scale: float) -> torch.Tensor:
    """``(1,)`` fp32 on the device, no host sync: an upper bound of every ``scale * q_i . k_j`` in base 2
    (Cauchy-Schwarz on the largest norms, widened by 1% and 1 for the matmul's rounding)."""
    largest = q.float().norm(dim=1).max() * k.float().norm(dim=1).max()
    return (largest * abs(scale) * LOG2E * 1.01 + 1.0).reshape(1)


def _fused_forward(q, k, exclude, scale, direct: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Row and column LSE from one pass over the tiles; columns whose sum underflowed (their logits all far below
    the bound: possible only when ``2 * bound`` exceeds ~100, e.g. temperature 0.01) get an exact column pass.
    ``direct``: the column sums of ``2^s`` themselves, nothing underflows, one launch."""
    colsum = torch.zeros(k.shape[0], device=q.device, dtype=torch.float32)
    if direct:
        lse_r = _row_lse(q, k, exclude, scale, colsum=colsum, direct=True)
        return lse_r, colsum.log_()  # -inf where every logit was excluded
    bound = logit_bound_log2(q, k, scale)
    lse_r = _row_lse(q, k, exclude, scale, bound=bound, colsum=colsum)
    lse_c = (bound + torch.log2(colsum)) * LN2  # tiny sums are overwritten next
    _row_lse(k, q, transpose_exclusion(exclude, k.shape[0]), scale, out=lse_c, colsum=colsum, only_tiny=True)
    return lse_r, lse_c


_ALGORITHMS = {"forward": ("rows", "fused", "rows-ws", "auto"),
               "backward": ("rows", "fused", "gemm", "rows-ws", "gemm-ws", "auto"),
               "self": ("rows", "symmetric", "auto"), "exp": ("direct", "online"), "normalize": ("fused", "torch"),
               "warp_specialize": ("off", "auto")}


def chosen_algorithm(stage: str) -> str:
    """The algorithm for ``stage``: ``"forward"`` -> ``"rows"``, ``"fused"``, ``"rows-ws"`` or ``"auto"``
    (:data:`FORWARD`), ``"backward"`` -> the same or ``"gemm"``, ``"gemm-ws"`` (:data:`BACKWARD`), ``"self"`` ->
    ``"rows"``, ``"symmetric"`` or ``"auto"`` (:data:`SELF`), ``"exp"`` -> ``"direct"`` or ``"online"``
    (:data:`EXP`), ``"normalize"`` -> ``"fused"`` or ``"torch"`` (:data:`NORMALIZE`), ``"warp_specialize"`` ->
    ``"off"`` or ``"auto"`` (:data:`WARP_SPECIALIZE`), unless ``SELFSUP_TRITON_FORWARD`` / ``_BACKWARD`` / ``_SELF``
    / ``_EXP`` / ``_NORMALIZE`` / ``_WARP_SPECIALIZE`` names one. ``"auto"`` is resolved per problem by
    :func:`resolve_algorithm`."""
    name = f"SELFSUP_TRITON_{stage.upper()}"
    defaults = {"forward": FORWARD, "backward": BACKWARD, "self": SELF, "exp": EXP, "normalize": NORMALIZE,
                "warp_specialize": WARP_SPECIALIZE}
    chosen = os.environ.get(name, defaults[stage])
    allowed = _ALGORITHMS[stage]
    if chosen not in allowed:
        raise ValueError(f"{name} must be {', '.join(map(repr, allowed[:-1]))} or {allowed[-1]!r}, got {chosen!r}")
    return chosen


def warp_specializable(algorithm: str, *tensors: torch.Tensor | None) -> bool:
    """Whether the warp-specialized algorithms (``"rows-ws"``, ``"gemm-ws"``) are candidates for a problem whose
    kernels read ``tensors`` (operands, exclusion, statistics; ``None`` skipped), given the stage's ``algorithm``:
    one of them named, or ``"auto"`` with ``chosen_algorithm("warp_specialize") == "auto"`` (they have not run on a
    GPU yet, so ``"auto"`` leaves them out by default). And the problem suits them: on an sm_90 or newer GPU with bf16
    or fp16 operands (or under the interpreter, any), feature blocks up to 256 and every tensor readable by a tensor
    descriptor (:func:`._triton_tma.tma_ready`). With fp32 operands (tf32 matmuls) Triton's pass leaves the loop
    alone and the 4-warp program spills by the tens of thousands of instructions (``sm90_static.py --dtype
    float32``)."""
    if not (algorithm.endswith("-ws") or (algorithm == "auto" and chosen_algorithm("warp_specialize") == "auto")):
        return False
    tensors = [t for t in tensors if t is not None]
    q = tensors[0]
    if q.device.type == "cuda":
        if torch.cuda.get_device_capability(q.device)[0] < 9 or q.dtype not in (torch.bfloat16, torch.float16):
            return False
    elif not _interpreting():
        return False
    return _block_d(q.shape[1]) <= TMA_MAX_BLOCK and tma_ready(*tensors)


def resolve_algorithm(stage: str, algorithm: str | None, runs: dict, device: torch.device, key: tuple) -> str:
    """``algorithm`` (``None``: :func:`chosen_algorithm` of ``stage``), one of ``runs`` (``{algorithm: thunk}``, the
    deterministic one first); ``"auto"``: the fastest of them on the problem ``key``
    (:func:`._algorithm_tuner.fastest`, timed on its first call)."""
    algorithm = algorithm or chosen_algorithm(stage)
    if algorithm == "auto":
        return _algorithm_tuner.fastest(stage, key, runs, device)
    if algorithm.endswith("-ws") and algorithm not in runs:
        raise ValueError(f"the warp-specialized {stage} {algorithm!r} needs an sm_90 or newer GPU, feature dims up "
                         f"to {TMA_MAX_BLOCK}, bf16 or fp16 operands and 16-byte aligned rows (see "
                         f"warp_specializable), and this problem lacks at least one of them")
    if algorithm not in runs:
        raise ValueError(f"algorithm must be {' or '.join(map(repr, [*runs, 'auto']))}, got {algorithm!r}")
    return algorithm


def use_direct(direct: bool) -> bool:
    """Direct exponentials where the caller's bound allows them (``direct``) and ``chosen_algorithm("exp")`` agrees."""
    return direct and chosen_algorithm("exp") == "direct"


# fp16 keeps 5 exponent bits: below 6e-8 a value rounds to 0. The backward's weights dS (an upstream gradient times a
# probability: 1 / 2N times ~1 / N at N = 32768 is 5e-10) go to the tensor cores in the operands' dtype, so for fp16
# operands they are first scaled by a power of two f that brings the largest possible |dS| to at most this, and the
# fp32 products multiplied by 1 / f before they are stored (exact: powers of two). bf16 has fp32's exponent range.
HALF_GRAD_PEAK = 2.0 ** 14


def half_grad_scale(dtype: torch.dtype, bound: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
    """For fp16 operands, ``(f, 1 / f)``, ``(1,)`` fp32 tensors on ``bound``'s device (no host sync), where ``f`` is
    the power of two with ``f * bound <= HALF_GRAD_PEAK < 2 f * bound`` (exponent within +-100; ``bound = 0``: 2^100)
    and ``bound`` (0-dim) an upper bound of every ``|dS|``, e.g. ``max |g_r| + max |g_c|`` as every probability is at
    most 1. ``None`` for other dtypes: their weights are cast unscaled."""
    if dtype != torch.float16:
        return None
    exponent = torch.floor(torch.log2(HALF_GRAD_PEAK / bound.float())).clamp_(-100.0, 100.0).reshape(1)
    return torch.exp2(exponent), torch.exp2(-exponent)


def peak(*gradients: torch.Tensor | None) -> torch.Tensor:
    """``sum_g max |g|`` over the given upstream gradients (0-dim), the bound :func:`half_grad_scale` takes."""
    return sum(g.abs().amax() for g in gradients if g is not None)


def half_rescaled(dtype: torch.dtype, *gradients: torch.Tensor | None, terms: int = 1) -> tuple:
    """``(inv_f, *gradients)`` for the backward kernels: for fp16 operands each gradient times ``f``
    (:func:`half_grad_scale` of ``terms * peak(*gradients)``; ``terms``: how many of them one weight can sum, 2 for
    the 2N form's ``g_i P_ij + g_j P_ji``) and the ``(1,)`` tensor ``1 / f``; for other dtypes the gradients as they
    are and ``None``, with nothing computed. ``None`` gradients stay ``None``."""
    if dtype != torch.float16:
        return (None, *gradients)
    f, inv_f = half_grad_scale(dtype, terms * peak(*gradients))
    return (inv_f, *(None if g is None else g * f for g in gradients))


def lse_forward(q: torch.Tensor, k: torch.Tensor, exclude: torch.Tensor | None, scale: float,
                need_col: bool, algorithm: str | None = None, *,
                direct: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Row LSE ``(B,)`` and (optionally) column LSE ``(N,)`` of ``scale * q @ k.T``, fp32.

    ``algorithm`` (default ``chosen_algorithm("forward")``) for the column LSE: ``"rows"`` runs the row kernel again
    with the operands swapped (every tile computed twice); ``"fused"`` takes both from one pass
    (:func:`_fused_forward`); ``"rows-ws"`` is ``"rows"`` with the warp-specialized kernel (:func:`warp_specializable`);
    ``"auto"`` the fastest on this problem (:func:`resolve_algorithm`). For the row LSE alone the row kernel runs,
    warp-specialized under ``"rows-ws"`` (or ``"auto"``, timed, where that is a candidate).
    ``direct``: the logits are bounded (:func:`use_direct`), no running max.
    """
    direct = use_direct(direct)
    algorithm = algorithm or chosen_algorithm("forward")
    ws_candidates = warp_specializable(algorithm, q, k, exclude)
    key = (q.dtype, tuple(q.shape), tuple(k.shape), exclude is not None, direct)
    if not need_col:  # the row kernel, warp-specialized or not
        runs = {"rows": lambda: _row_lse(q, k, exclude, scale, direct=direct)}
        if ws_candidates:
            runs["rows-ws"] = lambda: _row_lse(q, k, exclude, scale, direct=direct, warp_specialize=True)
        named = algorithm if algorithm in ("rows-ws", "auto") else "rows"  # "fused" needs the columns
        return runs[resolve_algorithm("forward", named, runs, q.device, (*key, "rows only"))](), None
    runs = {"rows": lambda: _row_forward(q, k, exclude, scale, direct),
            "fused": lambda: _fused_forward(q, k, exclude, scale, direct)}
    if ws_candidates:
        runs["rows-ws"] = lambda: _row_forward(q, k, exclude, scale, direct, warp_specialize=True)
    return runs[resolve_algorithm("forward", algorithm, runs, q.device, key)]()


def _row_forward(q, k, exclude, scale, direct: bool = False,
                 warp_specialize: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Row and column LSE by two launches of the row kernel (warp-specialized with ``warp_specialize``), the second
    with the operands swapped."""
    return (_row_lse(q, k, exclude, scale, direct=direct, warp_specialize=warp_specialize),
            _row_lse(k, q, transpose_exclusion(exclude, k.shape[0]), scale, direct=direct,
                     warp_specialize=warp_specialize))


def _grad_rows(a, b, exclude, scale, row_stats, col_stats, direct: bool = False,
               out_dtype: torch.dtype = torch.float32, inv_f: torch.Tensor | None = None, *,
               out: torch.Tensor | None = None, columns: tuple[int, int] | None = None,
               ds: torch.Tensor | None = None, accumulate: bool = False, warp_specialize: bool = False) -> torch.Tensor:
    """``scale * dS @ b`` for ``dS`` built from (lse, g) of a's rows and/or b's rows (as columns); ``direct``:
    (lse, weights ``g * e^-lse``) instead. ``inv_f``: the g (weights) came scaled by ``f`` (:func:`half_grad_scale`),
    the products are multiplied by ``inv_f`` in fp32. Accumulated in fp32, stored as ``out_dtype`` (into ``out`` if
    given, added to it with ``accumulate``). ``columns``: ``(lo, hi)``, only b's rows ``lo..hi-1`` (default all);
    ``ds``: their ``dS`` (times ``f``, in a's dtype) is also stored, ``ds[i, j - lo]``. ``warp_specialize``: the
    warp-specialized kernel."""
    n_rows, dim = a.shape
    if out is None:
        out = _empty(n_rows, dim, device=a.device, dtype=out_dtype)
    lo, hi = columns if columns is not None else (0, b.shape[0])
    lse_r, g_r = row_stats if row_stats is not None else (out, out)
    lse_c, g_c = col_stats if col_stats is not None else (out, out)
    if warp_specialize:
        launch = _BACKWARD_STORE_DS_WS if ds is not None else _BACKWARD_WS
    else:
        launch = _BACKWARD_STORE_DS if ds is not None else _BACKWARD
    launch(lambda meta: (triton.cdiv(n_rows, meta["BLOCK_M"]),),
           a, b, exclude if exclude is not None else out, lse_r, lse_c, g_r, g_c, out,
           inv_f if inv_f is not None else out, ds if ds is not None else out,
           n_rows, b.shape[0], lo, hi, dim, scale * LOG2E, scale, a.stride(0), b.stride(0), out.stride(0),
           ds.stride(0) if ds is not None else 0,
           HAS_EXCL=exclude is not None, HAS_ROW=row_stats is not None, HAS_COL=col_stats is not None,
           PRECISION=_precision(a.dtype), DIRECT=direct, RESCALED=inv_f is not None, STORE_DS=ds is not None,
           ACCUMULATE=accumulate, BLOCK_D=_block_d(dim))
    return out


# The cuBLAS backward (:func:`_grad_gemm`) stores dS for a chunk of columns at a time, of at most this many bytes (with
# the operands' dtype; 64 MiB: 1024 columns of 32768 bf16 rows, 0.4% of an eager step's 16 GiB at that size).
GEMM_CHUNK_BYTES = 64 * 2**20


def gemm_chunk(n_rows: int, n_cols: int, itemsize: int) -> int:
    """Columns per dS chunk: a multiple of 128 (the widest column block) within :data:`GEMM_CHUNK_BYTES`, at least
    128, and no more than ``n_cols`` rounded up to 128."""
    fit = GEMM_CHUNK_BYTES // max(1, n_rows * itemsize) // 128 * 128
    return max(128, min(fit, triton.cdiv(n_cols, 128) * 128))


def _mm_fp32(a: torch.Tensor, b: torch.Tensor, product=torch.mm) -> torch.Tensor:
    """``product(a, b)`` (``torch.mm`` or ``torch.bmm``) accumulated and returned in fp32: cuBLAS with an fp32 output
    for half operands on CUDA (no rounding to the operands' dtype), otherwise fp32 operands (exact products of half
    values)."""
    if a.is_cuda and a.dtype in (torch.float16, torch.bfloat16):
        return product(a, b, out_dtype=torch.float32)
    return product(a.float(), b.float())


# The gemm backward's cuBLAS product per chunk, ``dK = dS^T @ Q``, reduces over all B rows into a small (chunk, D)
# output (1024 x 256 at N=32768 bf16: 16 tiles of 128 x 128 for an H100's 132 SMs), which fills a GPU only where cuBLAS
# splits the reduction itself. "split" does it by hand: this many slices of the rows in one batched matmul, summed.
DK_SPLITS = 8


def _mm_split_fp32(ds: torch.Tensor, q: torch.Tensor, splits: int = DK_SPLITS) -> torch.Tensor:
    """``ds.T @ q`` in fp32 for ``ds (B, c)`` (a column slice is fine) and ``q (B, D)``, B divisible by ``splits``:
    the rows in ``splits`` slices, multiplied by one batched matmul (fp32 output, as :func:`_mm_fp32`), summed."""
    (n, c), d = ds.shape, q.shape[1]
    return _mm_fp32(ds.view(splits, n // splits, c).transpose(1, 2), q.view(splits, n // splits, d), torch.bmm).sum(0)


def _dk_product(ds: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """``ds.T @ q`` in fp32, by one cuBLAS product (``"mm"``) or split by hand (``"split"``, :data:`DK_SPLITS`, where
    the rows divide), whichever :func:`._algorithm_tuner.fastest` times faster for this shape (``"mm"`` untimed)."""
    runs = {"mm": lambda: _mm_fp32(ds.t(), q)}
    if ds.shape[0] % DK_SPLITS == 0:
        runs["split"] = lambda: _mm_split_fp32(ds, q)
    key = (ds.dtype, tuple(ds.shape), q.shape[1])
    return runs[_algorithm_tuner.fastest("dk_gemm", key, runs, ds.device)]()


def _grad_gemm(q, k, exclude, scale, rows, cols, direct: bool = False, out_dtype: torch.dtype = torch.float32,
               inv_f: torch.Tensor | None = None, warp_specialize: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """``(dq, dk)`` with each tile computed once and no atomics: for each chunk of :func:`gemm_chunk` columns (keys),
    the row kernel adds the chunk's share of ``dQ`` (fp32) and stores its ``dS (B, chunk)``, and cuBLAS takes the
    chunk's ``dK = scale * dS^T @ Q`` (:func:`_dk_product`). 4 B N D matmul FLOPs in Triton and 2 in cuBLAS; ``dS``
    written once and read once (``B N`` elements), at most :data:`GEMM_CHUNK_BYTES` of it held. Stats and ``inv_f``
    as in :func:`_grad_rows`; ``warp_specialize``: the warp-specialized row kernel."""
    (n_rows, dim), n_cols = q.shape, k.shape[0]
    chunk = gemm_chunk(n_rows, n_cols, q.element_size())
    dq = torch.empty(n_rows, dim, device=q.device, dtype=torch.float32)
    ds = torch.empty(n_rows, chunk, device=q.device, dtype=q.dtype)
    dk = _empty(n_cols, dim, device=q.device, dtype=out_dtype)
    for lo in range(0, n_cols, chunk):
        hi = min(lo + chunk, n_cols)
        _grad_rows(q, k, exclude, scale, rows, cols, direct, inv_f=inv_f, out=dq, columns=(lo, hi), ds=ds,
                   accumulate=lo > 0, warp_specialize=warp_specialize)
        part = _dk_product(ds[:, : hi - lo], q).mul_(scale)
        if inv_f is not None:
            part.mul_(inv_f)
        dk[lo:hi] = part
    return dq.to(out_dtype), dk


def self_grad_rows(z: torch.Tensor, exclude: torch.Tensor, scale: float, lse: torch.Tensor, g: torch.Tensor, *,
                   direct: bool = False, out_dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``dz (N, D)`` for the row LSE of ``scale * z @ z.T`` with a symmetric ``exclude`` (row i leaves out column j
    exactly when row j leaves out column i, e.g. the diagonal) and upstream ``g (N,)``, by one row-kernel launch.

    The logits are symmetric, so ``P_ji = exp(s_ij - lse_j)`` is the column term of the same tile, and
    ``dz_i = scale * sum_j (g_i P_ij + g_j P_ji) z_j``: the kernel's row and column statistics are both ``(lse, g)``.
    4 N^2 D matmul FLOPs, where dQ and dK by two launches (:func:`lse_backward`) take 8 and a sum."""
    direct = use_direct(direct)
    inv_f, g = half_rescaled(z.dtype, g, terms=2)
    stats = (lse, direct_weights(lse, g) if direct else g)
    return _grad_rows(z, z, exclude, scale, stats, stats, direct, out_dtype, inv_f)


def _grad_fused(q, k, exclude, scale, rows, cols, direct: bool = False,
                out_dtype: torch.dtype = torch.float32,
                inv_f: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(dq, dk)`` from one pass over the tiles (:func:`_lse_bwd_fused_kernel`); stats and ``inv_f`` as in
    :func:`_grad_rows`; ``dk`` stored as ``out_dtype``, ``dq`` (atomic fp32 sums) cast to it after."""
    (n_rows, dim), n_cols = q.shape, k.shape[0]
    dq = torch.zeros(n_rows, dim, device=q.device, dtype=torch.float32)  # accumulated atomically
    dk = _empty(n_cols, dim, device=q.device, dtype=out_dtype)
    lse_r, g_r = rows if rows is not None else (dk, dk)
    lse_c, g_c = cols if cols is not None else (dk, dk)
    _BACKWARD_FUSED(lambda meta: (triton.cdiv(n_cols, meta["BLOCK_N"]),),
                    q, k, exclude if exclude is not None else dk, lse_r, lse_c, g_r, g_c, dq, dk,
                    inv_f if inv_f is not None else dk,
                    n_rows, n_cols, dim, scale * LOG2E, scale, q.stride(0), k.stride(0), dq.stride(0), dk.stride(0),
                    HAS_EXCL=exclude is not None, HAS_ROW=rows is not None, HAS_COL=cols is not None,
                    PRECISION=_precision(q.dtype), DIRECT=direct, RESCALED=inv_f is not None, BLOCK_D=_block_d(dim))
    return dq.to(out_dtype), dk


def lse_backward(q, k, exclude, scale, lse_r, lse_c, g_r, g_c, algorithm: str | None = None, *,
                 direct: bool = False, out_dtype: torch.dtype = torch.float32):
    """``dq (B, D)``, ``dk (N, D)`` for upstream gradients ``g_r (B,)`` and ``g_c (N,)``, accumulated in fp32 and
    returned as ``out_dtype`` (the operands' dtype spares the loss a cast of each).

    ``algorithm`` (default ``chosen_algorithm("backward")``): ``"rows"`` launches the row kernel twice (for dQ, then
    with the operands swapped for dK), computing every tile twice (8 B N D FLOPs of matmul); ``"fused"`` computes
    each tile once for both (6 B N D), at the price of ``N / BLOCK_N * B * D`` fp32 atomic adds into dQ, whose
    summation order then varies from run to run; ``"gemm"`` computes each tile once too, in the row kernel, which
    stores ``dS`` chunk by chunk for cuBLAS to take ``dK`` (:func:`_grad_gemm`, deterministic); ``"rows-ws"`` and
    ``"gemm-ws"``: the same with the warp-specialized row kernel (:func:`warp_specializable`); ``"auto"`` the
    fastest on this problem (:func:`resolve_algorithm`). ``direct``: the logits are bounded (:func:`use_direct`), one
    exponential per logit instead of two. fp16 operands: the weights are rescaled (:func:`half_grad_scale`).
    """
    algorithm = algorithm or chosen_algorithm("backward")
    direct = use_direct(direct)
    inv_f, g_r, g_c = half_rescaled(q.dtype, g_r, g_c if lse_c is not None else None)
    if direct:
        g_r = direct_weights(lse_r, g_r)
        g_c = direct_weights(lse_c, g_c) if lse_c is not None else None
    rows = (lse_r, g_r)
    cols = (lse_c, g_c) if lse_c is not None else None
    runs = {"rows": lambda: _grad_two_launches(q, k, exclude, scale, rows, cols, direct, out_dtype, inv_f),
            "fused": lambda: _grad_fused(q, k, exclude, scale, rows, cols, direct, out_dtype, inv_f),
            "gemm": lambda: _grad_gemm(q, k, exclude, scale, rows, cols, direct, out_dtype, inv_f)}
    if warp_specializable(algorithm, q, k, exclude, *rows, *(cols or ())):
        runs["rows-ws"] = lambda: _grad_two_launches(q, k, exclude, scale, rows, cols, direct, out_dtype, inv_f,
                                                     warp_specialize=True)
        runs["gemm-ws"] = lambda: _grad_gemm(q, k, exclude, scale, rows, cols, direct, out_dtype, inv_f,
                                             warp_specialize=True)
    key = (q.dtype, tuple(q.shape), tuple(k.shape), exclude is not None, cols is not None, direct, out_dtype)
    return runs[resolve_algorithm("backward", algorithm, runs, q.device, key)]()


def _grad_two_launches(q, k, exclude, scale, rows, cols, direct: bool = False, out_dtype: torch.dtype = torch.float32,
                       inv_f: torch.Tensor | None = None,
                       warp_specialize: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """``(dq, dk)`` by the row kernel twice, for dQ and then with the operands (and statistics) swapped for dK;
    ``warp_specialize``: the warp-specialized kernel."""
    dq = _grad_rows(q, k, exclude, scale, rows, cols, direct, out_dtype, inv_f, warp_specialize=warp_specialize)
    dk = _grad_rows(k, q, transpose_exclusion(exclude, k.shape[0]), scale, cols, rows, direct, out_dtype, inv_f,
                    warp_specialize=warp_specialize)
    return dq, dk
