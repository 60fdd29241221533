"""Chunked PyTorch cross-entropy between a teacher and a student prototype head: memory O(chunk * V)."""

from __future__ import annotations

import torch

from selfsup.core.kernels._chunked_lse import _chunk_rows, _compute_dtype

_empty = torch.empty  # output allocator (tests poison it)


def _logits(h, w, ht, wt, center, student_temp, teacher_temp, dtype):
    s = (h.to(dtype) @ w.to(dtype).T) / student_temp
    t = ht.to(dtype) @ wt.to(dtype).T
    if center is not None:
        t = t - center.to(dtype)
    return s, t / teacher_temp


def soft_ce_forward(h, w, ht, wt, center, student_temp, teacher_temp, chunk: int | None = None):
    dtype = _compute_dtype(h)
    n_rows = h.shape[0]
    chunk = chunk or _chunk_rows(w.shape[0])
    loss, lse_s, lse_t = (_empty(n_rows, dtype=dtype, device=h.device) for _ in range(3))
    for start in range(0, n_rows, chunk):
        sl = slice(start, min(start + chunk, n_rows))
        s, t = _logits(h[sl], w, ht[sl], wt, center, student_temp, teacher_temp, dtype)
        lse_s[sl], lse_t[sl] = torch.logsumexp(s, 1), torch.logsumexp(t, 1)
        loss[sl] = lse_s[sl] - (torch.softmax(t, 1) * s).sum(1)
    return loss, lse_s, lse_t


def soft_ce_backward(h, w, ht, wt, center, student_temp, teacher_temp, lse_s, lse_t, g, chunk: int | None = None):
    dtype = _compute_dtype(h)
    n_rows = h.shape[0]
    chunk = chunk or _chunk_rows(w.shape[0])
    w_c = w.to(dtype)
    dh = _empty(h.shape, dtype=dtype, device=h.device)
    dw = torch.zeros(w.shape, dtype=dtype, device=h.device)
    for start in range(0, n_rows, chunk):
        sl = slice(start, min(start + chunk, n_rows))
        s, t = _logits(h[sl], w, ht[sl], wt, center, student_temp, teacher_temp, dtype)
        ds = (torch.exp(s - lse_s[sl, None]) - torch.exp(t - lse_t[sl, None])) * (g[sl, None] / student_temp)
        dh[sl] = ds @ w_c
        dw.addmm_(ds.T, h[sl].to(dtype))
    return dh, dw
