"""Chunked PyTorch cross-entropy of a linear head ``h (S, H) @ w (V, H)^T``, soft targets (DINO/iBOT) and hard
labels: memory O(chunk * V); the loss is a scalar mean, so ``(dh, dw)`` are taken in the same pass, each logit
computed and exponentiated once (docs/kernels.md)."""

from __future__ import annotations

import torch

from selfsup.core.kernels._chunked_lse import CONTRASTIVE_BUDGET, _chunk_rows, _compute_dtype, exp_

_empty = torch.empty  # output allocator (tests poison it)

# Each chunk adds a rank-``rows`` update into all of ``dw (V, H)``, bound by memory traffic below this many rows
# (docs/kernels.md, "Constants").
MIN_CHUNK_ROWS = 128


def _softmax_(x: torch.Tensor) -> torch.Tensor:
    """Row softmax of ``x (R, V)`` in place; returns the rows' log-sum-exp ``(R,)``."""
    m = x.amax(dim=1, keepdim=True)
    total = exp_(x.sub_(m)).sum(dim=1, keepdim=True)
    x.div_(total)
    return (m + total.log()).squeeze(1)


def _chunks(n_rows: int, n_cols: int, chunk: int | None) -> list[slice]:
    chunk = chunk or max(MIN_CHUNK_ROWS, _chunk_rows(n_cols, CONTRASTIVE_BUDGET))
    return [slice(start, min(start + chunk, n_rows)) for start in range(0, n_rows, chunk)]


def _logits_into(buffer: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a (R, H) @ b (V, H)^T`` written into the first R rows of ``buffer``, one buffer reused by every chunk (a
    fresh tensor a chunk is mapped from the OS each time: page faults, 1.5x slower matmuls on 2 CPU cores)."""
    return torch.mm(a, b.T, out=buffer[: a.shape[0]])


def _buffers(chunks: list[slice], n_cols: int, dtype: torch.dtype, device: torch.device, count: int):
    """``count`` ``(rows of the largest chunk, n_cols)`` buffers for :func:`_logits_into`."""
    rows = max(sl.stop - sl.start for sl in chunks)
    return [_empty(rows, n_cols, dtype=dtype, device=device) for _ in range(count)]


def _start(h, w, need_dh: bool, need_dw: bool):
    """What both heads start from: the compute dtype, ``w`` in it, the running sum of the row losses (0) and the
    gradient buffers ``dh`` (written chunk by chunk) and ``dw`` (accumulated, zeroed), None where not needed."""
    dtype = _compute_dtype(h)
    dh = _empty(h.shape, dtype=dtype, device=h.device) if need_dh else None
    dw = torch.zeros(w.shape, dtype=dtype, device=h.device) if need_dw else None
    return dtype, w.to(dtype), torch.zeros((), dtype=dtype, device=h.device), dh, dw


def _add_gradients(ds, h_c, w_c, dh, dw, sl) -> None:
    """``dh[sl] = ds @ w``, ``dw += ds^T @ h[sl]`` for the chunk's logit gradient ``ds (R, V)``."""
    if dh is not None:
        torch.mm(ds, w_c, out=dh[sl])
    if dw is not None:
        dw.addmm_(ds.T, h_c)


def soft_ce_mean(h, w, ht, wt, center, student_temp, teacher_temp, need_dh: bool, need_dw: bool,
                 chunk: int | None = None):
    """``mean_rows(-sum_v p_teacher log p_student)`` and, when asked, its gradients ``dh (S, H)``, ``dw (V, H)``.

    Args:
        h, ht: ``(S, H)`` student / teacher rows; w, wt: ``(V, H)`` prototypes; center: ``(V,)`` or None.
        chunk: rows per chunk (default: about a million logits, 4 MiB in fp32, and at least ``MIN_CHUNK_ROWS``).
    """
    n_rows = h.shape[0]
    dtype, w_c, total, dh, dw = _start(h, w, need_dh, need_dw)
    wt_c = wt.to(dtype)
    center_c = center.to(dtype) if center is not None else None
    chunks = _chunks(n_rows, w.shape[0], chunk)
    s_buffer, t_buffer = _buffers(chunks, w.shape[0], dtype, h.device, 2)
    for sl in chunks:
        h_c = h[sl].to(dtype)
        s = _logits_into(s_buffer, h_c, w_c).mul_(1.0 / student_temp)
        t = _logits_into(t_buffer, ht[sl].to(dtype), wt_c)
        if center_c is not None:
            t.sub_(center_c)
        _softmax_(t.mul_(1.0 / teacher_temp))  # t is now the teacher's distribution
        cross = torch.linalg.vecdot(t, s, dim=1)  # sum_v p_t * s
        total += (_softmax_(s) - cross).sum()  # s is now the student's distribution
        if need_dh or need_dw:
            _add_gradients(s.sub_(t).mul_(1.0 / (n_rows * student_temp)), h_c, w_c, dh, dw, sl)
    return total / n_rows, dh, dw


def hard_ce_mean(h, w, labels, need_dh: bool, need_dw: bool, chunk: int | None = None):
    """``mean_rows(lse(h @ w^T) - h . w[label])`` and, when asked, its gradients ``dh (S, H)``, ``dw (V, H)``.

    Args:
        h: ``(S, H)`` rows; w: ``(V, H)`` codes; labels: ``(S,)`` integers in ``[0, V)``.
        chunk: rows per chunk, as for :func:`soft_ce_mean`.
    """
    n_rows = h.shape[0]
    dtype, w_c, total, dh, dw = _start(h, w, need_dh, need_dw)
    chunks = _chunks(n_rows, w.shape[0], chunk)
    (s_buffer,) = _buffers(chunks, w.shape[0], dtype, h.device, 1)
    for sl in chunks:
        h_c = h[sl].to(dtype)
        s = _logits_into(s_buffer, h_c, w_c)
        rows, y = torch.arange(s.shape[0], device=s.device), labels[sl]
        target = s[rows, y]
        total += (_softmax_(s) - target).sum()  # s is now the softmax
        if need_dh or need_dw:
            s[rows, y] -= 1.0
            _add_gradients(s.mul_(1.0 / n_rows), h_c, w_c, dh, dw, sl)
    return total / n_rows, dh, dw
