"""Chunked PyTorch row log-sum-exp of ``scale * Z @ Z^T`` with the diagonal left out, through the upper triangle of
tiles only (a block ``S_IJ`` serves rows I and, transposed, rows J): memory O(tile^2 + N * D), half the matmul FLOPs
of :mod:`._chunked_lse` on ``(Z, Z)`` (docs/kernels.md)."""

from __future__ import annotations

import torch

from selfsup.core.kernels._chunked_lse import _compute_dtype, check_no_overflow, direct_weights, exp_, merge_online

_empty = torch.empty  # output allocator (tests poison it)


def _tile_size(n: int, budget_elems: int = 1 << 18) -> int:
    """Rows of a square tile holding about ``budget_elems`` logits (1 MiB in fp32, cache-sized): 512, measured
    fastest (docs/kernels.md, "Constants")."""
    return max(1, min(n, int(budget_elems ** 0.5)))


def _blocks(n: int, tile: int):
    """``(I, J)`` slices of the upper triangle of tiles, diagonal included, row block by row block."""
    starts = range(0, n, tile)
    for i in starts:
        for j in range(i, n, tile):
            yield slice(i, min(i + tile, n)), slice(j, min(j + tile, n))


def _block_logits(z: torch.Tensor, rows: slice, cols: slice, scale: float) -> torch.Tensor:
    s = (z[rows] @ z[cols].T).mul_(scale)
    if rows == cols:
        s.fill_diagonal_(float("-inf"))
    return s


def self_lse_forward(z: torch.Tensor, scale: float, tile: int | None = None, *, direct: bool = False) -> torch.Tensor:
    """``lse (N,)``: ``lse_i = log sum_{j != i} exp(scale * z_i . z_j)`` for ``z (N, D)``, N >= 2. ``direct``: the
    logits are small enough for ``exp(logit)`` itself (see :func:`._chunked_lse.lse_forward`)."""
    dtype = _compute_dtype(z)
    zc = z.to(dtype)
    n = z.shape[0]
    tile = tile or _tile_size(n)
    total = torch.zeros(n, dtype=dtype, device=z.device)
    lse = _empty(n, dtype=dtype, device=z.device)
    if direct:
        for rows, cols in _blocks(n, tile):
            e = _block_logits(zc, rows, cols, scale).exp_()
            total[rows] += e.sum(dim=1)
            if rows != cols:
                total[cols] += e.sum(dim=0)
        check_no_overflow(torch.log(total, out=lse))
        return lse
    m = torch.full((n,), float("-inf"), dtype=dtype, device=z.device)
    for rows, cols in _blocks(n, tile):
        s = _block_logits(zc, rows, cols, scale)
        merge_online(m[rows], total[rows], s, dim=1, consume=rows == cols)
        if rows != cols:
            merge_online(m[cols], total[cols], s, dim=0, consume=True)
    torch.add(m, torch.log(total), out=lse)
    return lse


def self_lse_backward(z: torch.Tensor, scale: float, lse: torch.Tensor, g: torch.Tensor,
                      tile: int | None = None, *, direct: bool = False,
                      out_dtype: torch.dtype | None = None) -> torch.Tensor:
    """``dz (N, D)`` as ``out_dtype`` (``None``: the compute dtype) for upstream ``g (N,)``: ``scale * A @ Z`` with
    ``A_ij = g_i P_ij + g_j P_ji`` (``P_ij = exp(scale z_i . z_j - lse_i)``, zero on the diagonal), ``A`` symmetric.
    ``direct``: ``A_ij = exp(scale z_i . z_j) (w_i + w_j)`` with ``w = g exp(-lse)``, one exponential per logit."""
    dtype = _compute_dtype(z)
    zc = z.to(dtype)
    n = z.shape[0]
    tile = tile or _tile_size(n)
    dz = torch.zeros(z.shape, dtype=dtype, device=z.device)
    w = direct_weights(lse, g) if direct else None
    for rows, cols in _blocks(n, tile):
        s = _block_logits(zc, rows, cols, scale)
        if direct:
            a = s.exp_().mul_(w[rows, None] + w[None, cols])
        else:
            a = exp_(s.sub(lse[rows, None])).mul_(g[rows, None])
            a += exp_(s.sub_(lse[None, cols])).mul_(g[None, cols])  # s is spent: reused in place
        dz[rows].addmm_(a, zc[cols])
        if rows != cols:
            dz[cols].addmm_(a.T, zc[rows])
    return dz.mul_(scale).to(out_dtype or dtype)
