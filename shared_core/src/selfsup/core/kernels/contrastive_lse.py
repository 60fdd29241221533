"""The differentiable primitive under every fused contrastive loss, and the one place where a backend is chosen:
``contrastive_lse(q, k, scale)``, the row log-sum-exp ``(B,)`` of ``scale * q @ k.T`` (and the column LSE ``(N,)``
with ``columns=True``) without storing the logits. Design: docs/kernels.md.
"""

from __future__ import annotations

from typing import Literal

import torch

from selfsup.core.kernels import _chunked_lse

Backend = Literal["auto", "triton", "chunked"]


def triton_available() -> bool:
    """Whether the triton package imports (the Triton backend's first condition)."""
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


# The measurements behind each constant: docs/kernels.md, "Constants and where they come from".
# ``auto`` takes Triton only from this many logits (rows x columns) on: below it the kernels lost to eager PyTorch.
TRITON_MIN_LOGITS = 8192 * 8192

# Largest ``|logit|`` for which the chunked path takes ``exp(logit)`` directly (no running max, one exponential a
# logit for both sums): every term stays in [e^-40, e^40]. Unit vectors at temperature >= 0.025 qualify.
DIRECT_MAX_LOGIT = 40.0


def direct_exponentials(max_logit: float | None) -> bool:
    """Whether logits bounded by ``max_logit`` in absolute value (``None``: unknown) are exponentiated directly
    (see :data:`DIRECT_MAX_LOGIT`)."""
    return max_logit is not None and abs(max_logit) <= DIRECT_MAX_LOGIT


# The widest feature dim (the head's hidden dim) the Triton kernels take with 2-byte operands, half that with fp32:
# wider blocks pass an sm_90 block's shared memory in every configuration tried. Wider operands take the chunked path.
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


def backend_module(backend: str, chunked):
    """The module implementing ``backend``: ``_triton_lse`` (imported here, it needs triton) or ``chunked``."""
    if backend == "triton":
        from selfsup.core.kernels import _triton_lse

        return _triton_lse
    return chunked


def exp_args(backend: str, direct: bool) -> dict:
    """Direct exponentials are the chunked path's (measured on CPU); the Triton kernels always keep a running max
    (their direct variant, never timed on a GPU, is in ``benchmarks/kernels/experimental/``)."""
    return {"direct": direct} if backend == "chunked" else {}


class _ContrastiveLSE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q, k, exclude, scale, columns, backend, direct):  # type: ignore[override]
        impl = backend_module(backend, _chunked_lse)
        q, k = q.contiguous(), k.contiguous()
        with autocast_off(q):
            lse_r, lse_c = impl.lse_forward(q, k, exclude, scale, columns, **exp_args(backend, direct))
        ctx.save_for_backward(q, k, exclude, lse_r, lse_c)
        ctx.scale, ctx.backend, ctx.direct = scale, backend, direct
        return (lse_r, lse_c) if columns else (lse_r,)

    @staticmethod
    def backward(ctx, g_r, g_c=None):  # type: ignore[override]
        q, k, exclude, lse_r, lse_c = ctx.saved_tensors
        g_r = torch.zeros_like(lse_r) if g_r is None else g_r.contiguous().to(lse_r.dtype)
        if lse_c is not None:
            g_c = torch.zeros_like(lse_c) if g_c is None else g_c.contiguous().to(lse_c.dtype)
        impl = backend_module(ctx.backend, _chunked_lse)
        with autocast_off(q):  # q and k share a dtype (checked); Triton stores it itself, no cast after
            dq, dk = impl.lse_backward(q, k, exclude, ctx.scale, lse_r, lse_c, g_r, g_c, out_dtype=q.dtype,
                                       **exp_args(ctx.backend, ctx.direct))
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
