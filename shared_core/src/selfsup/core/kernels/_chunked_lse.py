"""Chunked PyTorch log-sum-exp of the rows and columns of ``scale * Q @ K^T`` (the CPU path): memory O(chunk * N),
``chunk`` query rows at a time, column statistics merged online."""

from __future__ import annotations

import torch

_empty = torch.empty  # output allocator (tests poison it)


def _chunk_rows(n_cols: int, budget_elems: int = 1 << 22) -> int:
    """Rows per chunk so that one chunk of logits holds about ``budget_elems`` (16 MiB in fp32)."""
    return max(1, min(4096, budget_elems // max(1, n_cols)))


# Logits per chunk of the contrastive LSE (4 MiB in fp32); measured: docs/kernels.md, "Constants".
CONTRASTIVE_BUDGET = 1 << 20


# Every chunked exponent is <= 0 (a logit minus an upper bound of it). x86 CPUs take a slow path for exp below about
# -87; clamping first at EXP_FLOOR changes only terms below e^-70 of the largest (docs/kernels.md, "Constants"). A row
# with every logit excluded keeps its running max, -inf, and so its LSE, -inf.
EXP_FLOOR = -70.0


def exp_(x: torch.Tensor) -> torch.Tensor:
    """``exp`` in place of exponents ``x <= 0``, clamped at :data:`EXP_FLOOR` first (the CPU's fast path)."""
    return x.clamp_(min=EXP_FLOOR).exp_()


def _logits(q_chunk, k_t, exclude_chunk, scale):
    s = (q_chunk @ k_t).mul_(scale)
    if exclude_chunk is not None:
        rows = torch.arange(s.shape[0], device=s.device)
        hit = exclude_chunk >= 0
        s[rows[hit], exclude_chunk[hit]] = float("-inf")
    return s


def merge_online(m: torch.Tensor, total: torch.Tensor, s: torch.Tensor, dim: int, consume: bool = False) -> None:
    """Online softmax, in place: fold the logits ``s`` (reduced over ``dim``) into the running max ``m`` and
    ``total``, the sum of ``exp(logit - m)``. ``consume``: ``s`` is not needed afterwards; its buffer is reused."""
    new_m = torch.maximum(m, s.amax(dim=dim))
    safe = torch.where(torch.isinf(new_m), torch.zeros_like(new_m), new_m).unsqueeze(dim)
    shifted = s.sub_(safe) if consume else s.sub(safe)
    total.mul_(torch.exp(m - safe.squeeze(dim))).add_(exp_(shifted).sum(dim=dim))
    m.copy_(new_m)


def check_no_overflow(*lses: torch.Tensor | None) -> None:
    """After direct exponentials: an LSE of +inf means some ``exp(logit)`` overflowed, i.e. the caller's
    ``max_logit`` was far below the real logits (by e^88 in fp32); named here instead of a NaN gradient later."""
    for lse in lses:
        if lse is not None and bool((lse == float("inf")).any()):
            raise ValueError("exp(logit) overflowed: max_logit is below the logits' magnitude "
                             "(pass max_logit=None when the logits are not bounded)")


def direct_weights(lse: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """``g * e^-lse``: with direct exponentials a logit's share of the gradient is ``exp(s) * w`` (one exponential
    per logit); used by both chunked paths."""
    return g * torch.exp(-lse)


def _compute_dtype(q: torch.Tensor) -> torch.dtype:
    return torch.float64 if q.dtype == torch.float64 else torch.float32


def lse_forward(q, k, exclude, scale, need_col, chunk: int | None = None, *, direct: bool = False):
    """Row LSE ``(B,)`` and optionally column LSE ``(N,)`` of ``scale * q @ k.T``.

    ``direct``: every ``|logit|`` is small enough (:func:`.contrastive_lse.direct_exponentials`) for ``exp(logit)``
    itself: one exponential per logit serves both sums, no running max."""
    dtype = _compute_dtype(q)
    k_t = k.to(dtype).T
    n_rows, n_cols = q.shape[0], k.shape[0]
    chunk = chunk or _chunk_rows(n_cols, CONTRASTIVE_BUDGET)
    lse_r = _empty(n_rows, dtype=dtype, device=q.device)
    col_m = torch.full((n_cols,), 0.0 if direct else float("-inf"), dtype=dtype, device=q.device)  # direct: e^0
    col_l = torch.zeros(n_cols, dtype=dtype, device=q.device)
    for start in range(0, n_rows, chunk):
        stop = min(start + chunk, n_rows)
        s = _logits(q[start:stop].to(dtype), k_t, exclude[start:stop] if exclude is not None else None, scale)
        if direct:  # one exponential serves both sums
            e = s.exp_()
            torch.log(e.sum(dim=1), out=lse_r[start:stop])
            if need_col:
                col_l += e.sum(dim=0)
            continue
        if need_col:
            merge_online(col_m, col_l, s, dim=0)
        row_m = torch.full((stop - start,), float("-inf"), dtype=dtype, device=q.device)
        row_l = torch.zeros(stop - start, dtype=dtype, device=q.device)
        merge_online(row_m, row_l, s, dim=1, consume=True)
        torch.add(row_m, torch.log(row_l), out=lse_r[start:stop])
    lse_c = col_m.add_(torch.log(col_l)) if need_col else None  # -inf where every logit was excluded
    if direct:
        check_no_overflow(lse_r, lse_c)
    return lse_r, lse_c


def lse_backward(q, k, exclude, scale, lse_r, lse_c, g_r, g_c, chunk: int | None = None, *, direct: bool = False,
                 out_dtype: torch.dtype | None = None):
    """``dq``, ``dk`` for ``dS = g_r[:, None] * P_row + g_c[None, :] * P_col`` (P: the two softmaxes), computed in
    fp32 (float64 for float64 input) and returned as ``out_dtype`` (``None``: that compute dtype).

    ``direct`` (as in :func:`lse_forward`): ``dS = exp(S) * (w_r[:, None] + w_c[None, :])`` with
    ``w = g * exp(-lse)``, one exponential per logit instead of two."""
    dtype = _compute_dtype(q)
    k_c = k.to(dtype)
    k_t = k_c.T
    n_rows, n_cols = q.shape[0], k.shape[0]
    chunk = chunk or _chunk_rows(n_cols, CONTRASTIVE_BUDGET)
    dq = _empty(q.shape, dtype=dtype, device=q.device)
    dk = torch.zeros(k.shape, dtype=dtype, device=q.device)
    if direct:
        w_r = direct_weights(lse_r, g_r)
        w_c = direct_weights(lse_c, g_c) if lse_c is not None else None
        weights = _empty(min(chunk, n_rows), n_cols, dtype=dtype, device=q.device) if w_c is not None else None
    for start in range(0, n_rows, chunk):
        stop = min(start + chunk, n_rows)
        q_c = q[start:stop].to(dtype)
        excl = exclude[start:stop] if exclude is not None else None
        s = _logits(q_c, k_t, excl, scale)
        if not direct:
            p = exp_(s.sub(lse_r[start:stop, None])).mul_(g_r[start:stop, None])
            if lse_c is not None:
                p += exp_(s.sub_(lse_c[None, :])).mul_(g_c[None, :])  # s is spent: reused in place
        elif w_c is None:
            p = s.exp_().mul_(w_r[start:stop, None])
        else:
            w = torch.add(w_r[start:stop, None], w_c[None, :], out=weights[:stop - start])
            p = s.exp_().mul_(w)
        torch.mm(p, k_c, out=dq[start:stop])
        dk.addmm_(p.T, q_c, alpha=scale)
    out_dtype = out_dtype or dtype
    return dq.mul_(scale).to(out_dtype), dk.to(out_dtype)
