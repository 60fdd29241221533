"""Triton row kernels for the log-sum-exp of the rows and columns of ``scale * Q @ K^T``, never stored, and their
gradients, measured on the H100 and the H200: a program owns a block of rows of its first operand and streams every
block of the second (design and measurements: docs/kernels.md). fp32 accumulation in base 2."""

from __future__ import annotations

import os

import torch
import triton
import triton.language as tl

from selfsup.core.kernels.contrastive_lse import TRITON_MAX_DIM

_empty = torch.empty  # output allocator (tests poison it)

LOG2E = 1.4426950408889634
LN2 = 0.6931471805599453


@triton.jit
def load_block(PTR, idx, idx_ok, offs_d, d_ok, stride):
    """Rows ``idx`` of a row-major ``(n, dim)`` matrix as an ``(len(idx), BLOCK_D)`` tile, zero outside."""
    return tl.load(PTR + idx[:, None] * stride + offs_d[None, :], mask=idx_ok[:, None] & d_ok[None, :], other=0.0)


@triton.jit
def program_block(PTR, n, dim, stride, BLOCK: tl.constexpr, BLOCK_D: tl.constexpr):
    """This program's block of ``BLOCK`` rows of a row-major ``(n, dim)`` matrix: its first index, the indices and
    their mask, the feature offsets and their mask, and the ``(BLOCK, BLOCK_D)`` tile (zero outside)."""
    first = tl.program_id(0) * BLOCK
    idx = first + tl.arange(0, BLOCK)
    offs_d = tl.arange(0, BLOCK_D)
    idx_ok = idx < n
    d_ok = offs_d < dim
    return first, idx, idx_ok, offs_d, d_ok, load_block(PTR, idx, idx_ok, offs_d, d_ok, stride)


@triton.jit
def load_stats(LSE, G, idx, idx_ok):
    """The base-2 LSE and the upstream gradient of rows (or columns) ``idx``, zero outside."""
    return (tl.load(LSE + idx, mask=idx_ok, other=0.0) * 1.4426950408889634, tl.load(G + idx, mask=idx_ok, other=0.0))


@triton.jit
def _tile_logits(q, k, cols, col_ok, excl, scale_log2, HAS_EXCL: tl.constexpr, PRECISION: tl.constexpr):
    """Base-2 logits ``scale * q @ k^T`` of one tile; -inf at padded and excluded columns."""
    s = tl.dot(q, tl.trans(k), input_precision=PRECISION) * scale_log2
    valid = col_ok[None, :]
    if HAS_EXCL:
        valid = valid & (cols[None, :] != excl[:, None])
    return tl.where(valid, s, float("-inf"))


@triton.jit
def _lse_fwd_kernel(Q, K, EXCL, LSE, n_rows, n_cols, dim, scale_log2, stride_q, stride_k,
                    HAS_EXCL: tl.constexpr, PRECISION: tl.constexpr,
                    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr):
    """Row LSE by online softmax over the column blocks."""
    _, rows, row_ok, offs_d, d_ok, q = program_block(Q, n_rows, dim, stride_q, BLOCK_M, BLOCK_D)
    excl = rows
    if HAS_EXCL:
        excl = tl.load(EXCL + rows, mask=row_ok, other=-1)
    m_i = tl.full([BLOCK_M], float("-inf"), tl.float32)
    l_i = tl.zeros([BLOCK_M], tl.float32)
    for start in range(0, n_cols, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N)
        col_ok = cols < n_cols
        k = load_block(K, cols, col_ok, offs_d, d_ok, stride_k)
        s = _tile_logits(q, k, cols, col_ok, excl, scale_log2, HAS_EXCL, PRECISION)
        m_new = tl.maximum(m_i, tl.max(s, 1))
        m_safe = tl.where(m_new == float("-inf"), 0.0, m_new)
        p = tl.exp2(s - m_safe[:, None])
        l_i = l_i * tl.exp2(m_i - m_safe) + tl.sum(p, 1)
        m_i = m_new
    tl.store(LSE + rows, (m_i + tl.log2(l_i)) * 0.6931471805599453, mask=row_ok)


@triton.jit
def grad_tile(s, lse_r2, g_r, lse_c2, g_c, HAS_ROW: tl.constexpr, HAS_COL: tl.constexpr):
    """``dS = g_r[:, None] * P_row + g_c[None, :] * P_col`` of one tile of base-2 logits ``s``, fp32."""
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
def _lse_bwd_kernel(Q, K, EXCL, LSE_R, LSE_C, G_R, G_C, DQ, INV_F,
                    n_rows, n_cols, dim, scale_log2, scale, stride_q, stride_k, stride_dq,
                    HAS_EXCL: tl.constexpr, HAS_ROW: tl.constexpr, HAS_COL: tl.constexpr, PRECISION: tl.constexpr,
                    RESCALED: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr):
    """``dQ = scale * sum_j (g_r_i P_row_ij + g_c_j P_col_ij) K_j`` for a block of rows (:func:`grad_tile`);
    ``RESCALED``: the ``g`` came multiplied by ``f`` and ``INV_F`` holds ``1 / f``."""
    _, rows, row_ok, offs_d, d_ok, q = program_block(Q, n_rows, dim, stride_q, BLOCK_M, BLOCK_D)
    lse_r2 = tl.zeros([BLOCK_M], tl.float32)
    g_r = tl.zeros([BLOCK_M], tl.float32)
    lse_c2 = tl.zeros([BLOCK_N], tl.float32)
    g_c = tl.zeros([BLOCK_N], tl.float32)
    if HAS_ROW:
        lse_r2, g_r = load_stats(LSE_R, G_R, rows, row_ok)
    excl = rows
    if HAS_EXCL:
        excl = tl.load(EXCL + rows, mask=row_ok, other=-1)
    acc = tl.zeros([BLOCK_M, BLOCK_D], tl.float32)
    for start in range(0, n_cols, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N)
        col_ok = cols < n_cols
        k = load_block(K, cols, col_ok, offs_d, d_ok, stride_k)
        s = _tile_logits(q, k, cols, col_ok, excl, scale_log2, HAS_EXCL, PRECISION)
        if HAS_COL:
            lse_c2, g_c = load_stats(LSE_C, G_C, cols, col_ok)
        p = grad_tile(s, lse_r2, g_r, lse_c2, g_c, HAS_ROW, HAS_COL).to(k.dtype)
        acc += tl.dot(p, k, input_precision=PRECISION)
    acc = acc * output_scale(scale, INV_F, RESCALED)
    tl.store(DQ + rows[:, None] * stride_dq + offs_d[None, :], acc.to(DQ.dtype.element_ty),
             mask=row_ok[:, None] & d_ok[None, :])


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
WIDE_BLOCK_D = 512  # feature blocks from this on take a launcher's ``wide`` configurations


def launcher(kernel, blocks: list[tuple[int, int]], key: list[str],
             wide: list[tuple[int, int, int, int]] | None = None, wide_from: int = WIDE_BLOCK_D,
             default: tuple[int, int, int, int] = (64, 64, 8, 3)):
    """Autotuned launcher on a GPU over (BLOCK_M, BLOCK_N) pairs x :data:`WARPS_STAGES`; otherwise one
    configuration: ``default`` on a GPU, 32 x 32 at 4 warps under the interpreter. ``launch(grid_fn, *args,
    **kwargs)``. ``wide``: the ``(BLOCK_M, BLOCK_N, num_warps, num_stages)`` tried instead from ``BLOCK_D`` =
    ``wide_from`` on, where the usual ones pass an sm_90 block's shared memory (docs/kernels.md, "Constants"; the
    first runs without autotuning). ``launch.kernel`` and ``launch.configs_for(block_d)`` say what it runs."""
    usual = list(dict.fromkeys((m, n, w, st) for m, n in blocks for w, st in WARPS_STAGES))

    def configs_for(block_d: int) -> list[tuple[int, int, int, int]]:
        return wide if wide and block_d >= wide_from else usual

    if not _autotuning():
        def launch(grid, *args, **kwargs):
            fixed = wide[0] if wide and kwargs["BLOCK_D"] >= wide_from else default
            block_m, block_n, warps, stages = (32, 32, 4, 3) if _interpreting() else fixed
            meta = {"BLOCK_M": block_m, "BLOCK_N": block_n}
            return kernel[grid(meta)](*args, **kwargs, **meta, num_warps=warps, num_stages=stages)
    else:
        configs = [triton.Config({"BLOCK_M": m, "BLOCK_N": n}, num_warps=w, num_stages=st)
                   for m, n, w, st in dict.fromkeys(usual + (wide or []))]  # each once, in both lists or not

        def prune(candidates, named_args, **kwargs):
            chosen = configs_for(kwargs["BLOCK_D"])
            return [c for c in candidates
                    if (c.kwargs["BLOCK_M"], c.kwargs["BLOCK_N"], c.num_warps, c.num_stages) in chosen]

        tuned = triton.autotune(configs=configs, key=key, prune_configs_by={"early_config_prune": prune})(kernel)

        def launch(grid, *args, **kwargs):
            return tuned[grid](*args, **kwargs)

        launch.tuned = tuned
    launch.kernel, launch.configs_for = kernel, configs_for
    return launch


# At BLOCK_D=512, configurations that fit an sm_90 block without spilling (benchmarks/results/kernels-sm90-static.md).
_WIDE_FORWARD = [(128, 32, 8, 2), (128, 32, 8, 3), (64, 64, 8, 2), (64, 32, 8, 3)]
_WIDE_BACKWARD = [(64, 32, 8, 2), (64, 64, 8, 2), (32, 64, 8, 2), (32, 64, 8, 3)]
_KEY = ["n_rows", "n_cols", "dim", "HAS_EXCL"]  # each specialisation tuned on its own
_FORWARD = launcher(_lse_fwd_kernel, [(128, 64), (128, 128), (64, 64)], _KEY, wide=_WIDE_FORWARD)
_BACKWARD = launcher(_lse_bwd_kernel, [(64, 64), (64, 128), (128, 64)], [*_KEY, "HAS_ROW", "HAS_COL"],
                     wide=_WIDE_BACKWARD)


def transpose_exclusion(exclude: torch.Tensor | None, n_cols: int) -> torch.Tensor | None:
    """For ``exclude[i] = j`` (row i leaves out column j), the map from columns to the row they leave out."""
    if exclude is None:
        return None
    hit = exclude >= 0
    out = torch.full((n_cols,), -1, dtype=exclude.dtype, device=exclude.device)
    out[exclude[hit].long()] = torch.arange(exclude.shape[0], device=exclude.device, dtype=exclude.dtype)[hit]
    return out


def _row_lse(a: torch.Tensor, b: torch.Tensor, exclude, scale: float) -> torch.Tensor:
    """Row LSE ``(B,)`` fp32 of ``scale * a @ b.T``."""
    n_rows, dim = a.shape
    lse = _empty(n_rows, device=a.device, dtype=torch.float32)
    _FORWARD(lambda meta: (triton.cdiv(n_rows, meta["BLOCK_M"]),),
             a, b, exclude if exclude is not None else lse, lse, n_rows, b.shape[0], dim, scale * LOG2E,
             a.stride(0), b.stride(0), HAS_EXCL=exclude is not None, PRECISION=_precision(a.dtype),
             BLOCK_D=_block_d(dim))
    return lse


# fp16 operands: the backward's weights dS (~5e-10 at N = 32768) would round to 0 in fp16, so they are first scaled by
# a power of two f that brings the largest possible |dS| to at most this, and the fp32 products by 1 / f (exact).
HALF_GRAD_PEAK = 2.0 ** 14


def half_grad_scale(dtype: torch.dtype, bound: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
    """For fp16 operands, ``(f, 1 / f)``, ``(1,)`` fp32 tensors on ``bound``'s device (no host sync), where ``f`` is
    the power of two with ``f * bound <= HALF_GRAD_PEAK < 2 f * bound`` (exponent within +-100; ``bound = 0``: 2^100)
    and ``bound`` (0-dim) an upper bound of every ``|dS|``. ``None`` for other dtypes (weights cast unscaled)."""
    if dtype != torch.float16:
        return None
    exponent = torch.floor(torch.log2(HALF_GRAD_PEAK / bound.float())).clamp_(-100.0, 100.0).reshape(1)
    return torch.exp2(exponent), torch.exp2(-exponent)


def half_rescaled(dtype: torch.dtype, *gradients: torch.Tensor | None, terms: int = 1) -> tuple:
    """``(inv_f, *gradients)`` for the backward kernels: for fp16 operands each gradient times ``f``
    (:func:`half_grad_scale` of ``terms * sum_g max |g|``, which bounds every ``|dS|`` as every probability is at most
    1; ``terms``: how many of them one weight can sum, 2 for the 2N form's ``g_i P_ij + g_j P_ji``) and the ``(1,)``
    tensor ``1 / f``; for other dtypes the gradients as they are and ``None``, with nothing computed. ``None``
    gradients stay ``None``."""
    if dtype != torch.float16:
        return (None, *gradients)
    f, inv_f = half_grad_scale(dtype, terms * sum(g.abs().amax() for g in gradients if g is not None))
    return (inv_f, *(None if g is None else g * f for g in gradients))


def lse_forward(q: torch.Tensor, k: torch.Tensor, exclude: torch.Tensor | None, scale: float,
                need_col: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Row LSE ``(B,)`` and (optionally) column LSE ``(N,)`` of ``scale * q @ k.T``, fp32: the row kernel, and for
    the columns the row kernel again with the operands swapped (every tile computed twice)."""
    lse_r = _row_lse(q, k, exclude, scale)
    if not need_col:
        return lse_r, None
    return lse_r, _row_lse(k, q, transpose_exclusion(exclude, k.shape[0]), scale)


def _grad_rows(a, b, exclude, scale, row_stats, col_stats, out_dtype: torch.dtype = torch.float32,
               inv_f: torch.Tensor | None = None) -> torch.Tensor:
    """``scale * dS @ b`` for ``dS`` built from (lse, g) of a's rows and/or b's rows (as columns), accumulated in
    fp32 and stored as ``out_dtype``. ``inv_f``: the g came scaled by ``f`` (:func:`half_grad_scale`), the products
    are multiplied by ``inv_f`` in fp32."""
    n_rows, dim = a.shape
    out = _empty(n_rows, dim, device=a.device, dtype=out_dtype)
    lse_r, g_r = row_stats if row_stats is not None else (out, out)
    lse_c, g_c = col_stats if col_stats is not None else (out, out)
    _BACKWARD(lambda meta: (triton.cdiv(n_rows, meta["BLOCK_M"]),),
              a, b, exclude if exclude is not None else out, lse_r, lse_c, g_r, g_c, out,
              inv_f if inv_f is not None else out, n_rows, b.shape[0], dim, scale * LOG2E, scale,
              a.stride(0), b.stride(0), out.stride(0),
              HAS_EXCL=exclude is not None, HAS_ROW=row_stats is not None, HAS_COL=col_stats is not None,
              PRECISION=_precision(a.dtype), RESCALED=inv_f is not None, BLOCK_D=_block_d(dim))
    return out


def self_lse_forward(z: torch.Tensor, scale: float) -> torch.Tensor:
    """``lse (N,)`` fp32 of SimCLR's 2N form: the row kernel on ``(Z, Z)`` with the diagonal left out."""
    return _row_lse(z, z, torch.arange(z.shape[0], device=z.device, dtype=torch.int32), scale)


def self_lse_backward(z: torch.Tensor, scale: float, lse: torch.Tensor, g: torch.Tensor, *,
                      out_dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``dz (N, D)`` for :func:`self_lse_forward` and upstream ``g (N,)``, by one row-kernel launch.

    The logits are symmetric, so ``P_ji = exp(s_ij - lse_j)`` is the column term of the same tile, and
    ``dz_i = scale * sum_j (g_i P_ij + g_j P_ji) z_j``: the kernel's row and column statistics are both ``(lse, g)``.
    4 N^2 D matmul FLOPs, where dQ and dK by two launches (:func:`lse_backward`) take 8 and a sum."""
    inv_f, g = half_rescaled(z.dtype, g, terms=2)
    diagonal = torch.arange(z.shape[0], device=z.device, dtype=torch.int32)
    return _grad_rows(z, z, diagonal, scale, (lse, g), (lse, g), out_dtype, inv_f)


def lse_backward(q, k, exclude, scale, lse_r, lse_c, g_r, g_c, *, out_dtype: torch.dtype = torch.float32):
    """``dq (B, D)``, ``dk (N, D)`` for upstream gradients ``g_r (B,)`` and ``g_c (N,)`` by the row kernel twice, for
    dQ and then with the operands (and statistics) swapped for dK (every tile computed twice: 8 B N D matmul FLOPs),
    accumulated in fp32 and returned as ``out_dtype``. fp16 operands: the weights are rescaled
    (:func:`half_grad_scale`)."""
    inv_f, g_r, g_c = half_rescaled(q.dtype, g_r, g_c if lse_c is not None else None)
    rows = (lse_r, g_r)
    cols = (lse_c, g_c) if lse_c is not None else None
    dq = _grad_rows(q, k, exclude, scale, rows, cols, out_dtype, inv_f)
    dk = _grad_rows(k, q, transpose_exclusion(exclude, k.shape[0]), scale, cols, rows, out_dtype, inv_f)
    return dq, dk
