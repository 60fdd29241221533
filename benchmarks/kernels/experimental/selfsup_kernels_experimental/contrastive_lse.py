"""The differentiable primitive under every fused contrastive loss: log-sum-exp of the rows and
columns of ``scale * q @ k.T`` without storing the logits.

``contrastive_lse(q, k, scale)`` returns the row LSE ``(B,)`` (and the column LSE ``(N,)`` with
``columns=True``). Losses are composed from it in plain PyTorch (the positive logit is an O(B*D)
dot product), so autograd, normalisation and the cross-rank gather stay outside the kernel.
"""

from __future__ import annotations

from typing import Literal

import torch

from selfsup_kernels_experimental import _chunked_lse

Backend = Literal["auto", "triton", "chunked"]


def triton_available() -> bool:
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


# ``auto`` takes Triton only for at least this many logits (rows x columns). Measured (benchmarks/results/kernels-*):
# at 4096 x 4096 contrastive logits and 4096 x 8192 prototype logits the kernels were slower than eager PyTorch on the
# H100 and the H200, from 16384 x 8192 on faster; and every new shape costs an autotuning pass (a dozen compiles,
# minutes for a wide fp32 head on a tiny batch, seen on the H200), which a small loss never earns back.
TRITON_MIN_LOGITS = 8192 * 8192

# Largest ``|logit|`` (natural units) for which the kernels take ``exp(logit)`` directly: no running max, both sums
# (rows and columns) from the one exponential, and in the backward ``P_row + P_col`` from one exponential per logit
# (``exp(s) * (g_r e^-lse_r + g_c e^-lse_c)``) instead of two. Every term then lies in [e^-40, e^40]: normal in
# fp32, no CPU slow path, and N * e^40 overflows only past 10^21 keys. Unit vectors at temperature >= 0.025 qualify.
# Fwd + bwd at temperature 0.07, D=128, chunked on 2 CPU cores (benchmarks/results/kernels-cpu-direct-exp.txt):
# symmetric InfoNCE N=16384 1.45 s instead of 1.86 s, SimCLR's 2N form over 2 x 16384 2.47 s instead of 3.09 s.
DIRECT_MAX_LOGIT = 40.0


def direct_exponentials(max_logit: float | None) -> bool:
    """Whether logits bounded by ``max_logit`` in absolute value (``None``: unknown) are exponentiated directly
    (see :data:`DIRECT_MAX_LOGIT`)."""
    return max_logit is not None and abs(max_logit) <= DIRECT_MAX_LOGIT


# The widest feature dim (hidden dim for the prototype head, whose tiles hold two operand pairs) the Triton kernels
# take with 2-byte operands; fp32 operands take twice the shared memory per feature, so half as many. Compiled for the
# H100 (benchmarks/kernels/sm90_static.py --dtype float32, kernels-sm90-static.md), the fp32 contrastive forward at
# dims 257..512 and the fp32 head at 129..256 passed an sm_90 block's 227 KiB of shared memory in none of the
# configurations their launchers try: they could not launch. Wider operands take the chunked path.
TRITON_MAX_DIM = {"contrastive": 512, "head": 256}


def triton_max_dim(dtype: torch.dtype, kernel: str = "contrastive") -> int:
    """The widest feature dim the Triton ``kernel`` ("contrastive" or "head") takes for ``dtype`` operands."""
    return TRITON_MAX_DIM[kernel] // (2 if dtype == torch.float32 else 1)


def resolve_backend(backend: str, device: torch.device, dtype: torch.dtype, logits: int | None = None,
                    dim: int | None = None, kernel: str = "contrastive") -> str:
    """``auto`` -> ``triton`` for CUDA tensors with at least :data:`TRITON_MIN_LOGITS` ``logits`` (rows x columns;
    ``None``: any size) and a feature ``dim`` (``None``: unchecked) up to :func:`triton_max_dim` of ``kernel``, else
    ``chunked``; ``triton`` also runs on CPU under ``TRITON_INTERPRET=1``, and names a ``dim`` it cannot take."""
    import os

    if backend not in ("auto", "triton", "chunked"):
        raise ValueError(f"backend must be 'auto', 'triton' or 'chunked', got {backend!r}")
    interpreting = os.environ.get("TRITON_INTERPRET", "0") == "1"
    fits = dim is None or dim <= triton_max_dim(dtype, kernel)
    if backend == "triton":
        if not triton_available():
            raise RuntimeError("backend='triton' needs the triton package")
        if device.type != "cuda" and not interpreting:
            raise RuntimeError("backend='triton' needs CUDA tensors (or TRITON_INTERPRET=1 on CPU)")
        if dtype == torch.float64:
            raise ValueError("backend='triton' takes fp32/bf16/fp16 operands; use 'chunked' for float64")
        if not fits:
            raise ValueError(f"backend='triton' takes {kernel} feature dims up to {triton_max_dim(dtype, kernel)} "
                             f"with {str(dtype).removeprefix('torch.')} operands (wider blocks overflow a GPU block's "
                             f"shared memory), got {dim}; use backend='chunked'"
                             + (" or bf16/fp16 operands" if dtype == torch.float32 else ""))
        return "triton"
    large = logits is None or logits >= TRITON_MIN_LOGITS
    if backend == "auto" and device.type == "cuda" and dtype != torch.float64 and large and fits and triton_available():
        return "triton"
    return "chunked"


def autocast_off(t: torch.Tensor):
    """A context without autocast on ``t``'s device: the kernels choose their own precision (half operands, fp32
    logits and accumulation); under autocast the chunked path's matmuls would give bf16 logits."""
    return torch.autocast(device_type=t.device.type, enabled=False)


def _module(backend: str):
    if backend == "triton":
        from selfsup_kernels_experimental import _triton_lse

        return _triton_lse
    return _chunked_lse


class _ContrastiveLSE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q, k, exclude, scale, columns, backend, direct):  # type: ignore[override]
        impl = _module(backend)
        q, k = q.contiguous(), k.contiguous()
        with autocast_off(q):
            lse_r, lse_c = impl.lse_forward(q, k, exclude, scale, columns, direct=direct)
        ctx.save_for_backward(q, k, exclude, lse_r, lse_c)
        ctx.scale, ctx.backend, ctx.direct = scale, backend, direct
        return (lse_r, lse_c) if columns else (lse_r,)

    @staticmethod
    def backward(ctx, g_r, g_c=None):  # type: ignore[override]
        q, k, exclude, lse_r, lse_c = ctx.saved_tensors
        g_r = torch.zeros_like(lse_r) if g_r is None else g_r.contiguous().to(lse_r.dtype)
        if lse_c is not None:
            g_c = torch.zeros_like(lse_c) if g_c is None else g_c.contiguous().to(lse_c.dtype)
        with autocast_off(q):  # q and k share a dtype (checked); Triton stores it itself, no cast after
            dq, dk = _module(ctx.backend).lse_backward(q, k, exclude, ctx.scale, lse_r, lse_c, g_r, g_c,
                                                       direct=ctx.direct, out_dtype=q.dtype)
        return dq, dk, None, None, None, None, None


def contrastive_lse(q: torch.Tensor, k: torch.Tensor, scale: float, *, columns: bool = False,
                    exclude: torch.Tensor | None = None, backend: Backend = "auto", max_logit: float | None = None):
    """Log-sum-exp over the rows (and columns) of ``scale * q @ k.T`` in linear memory.

    Args:
        q: ``(B, D)`` queries; k: ``(N, D)`` keys, same dtype (fp32/bf16/fp16; float64 on ``chunked``).
        scale: multiplier of the dot products (``1 / temperature``).
        columns: also return the column LSE (one pass computes both).
        exclude: optional ``(B,)`` int column index left out of row i (``-1`` = none), e.g. the
            query itself in SimCLR's 2N form; each column is left out of at most one row.
        backend: ``auto`` (Triton on CUDA from :data:`TRITON_MIN_LOGITS` logits on, chunked PyTorch
            otherwise), ``triton`` or ``chunked``.
        max_logit: an upper bound of every ``|scale * q_i . k_j|`` that the caller knows, e.g. ``scale`` for
            L2-normalised rows; up to :data:`DIRECT_MAX_LOGIT` the exponentials are taken directly (fewer, no
            running max). ``None``: numerically safe at any scale (running max, exponents relative to the LSE).
            A bound far below the real logits overflows ``exp``: the chunked path raises then; on Triton (no
            host sync) the LSE comes back ``inf``.

    Returns:
        ``lse_rows (B,)`` or ``(lse_rows (B,), lse_cols (N,))``, fp32 (float64 for float64 input).
    """
    if q.dim() != 2 or k.dim() != 2 or q.shape[1] != k.shape[1]:
        raise ValueError(f"q and k must be (B, D) and (N, D), got {tuple(q.shape)} and {tuple(k.shape)}")
    if q.dtype != k.dtype:
        raise TypeError(f"q and k must share a dtype, got {q.dtype} and {k.dtype}")
    if exclude is not None:
        if exclude.shape != (q.shape[0],):
            raise ValueError(f"exclude must have shape ({q.shape[0]},), got {tuple(exclude.shape)}")
        excluded = exclude[exclude >= 0]
        if excluded.numel() and (int(excluded.max()) >= k.shape[0] or excluded.unique().numel() != excluded.numel()):
            raise ValueError(f"exclude must name distinct key indices in [0, {k.shape[0]}) (or -1)")
    chosen = resolve_backend(backend, q.device, q.dtype, q.shape[0] * k.shape[0], q.shape[1])
    if exclude is not None:
        exclude = exclude.to(device=q.device, dtype=torch.int32 if chosen == "triton" else torch.long).contiguous()
    out = _ContrastiveLSE.apply(q, k, exclude, float(scale), columns, chosen, direct_exponentials(max_logit))
    return out if columns else out[0]
