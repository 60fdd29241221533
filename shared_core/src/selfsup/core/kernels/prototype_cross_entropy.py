"""Fused linear head + cross-entropy over many prototypes/codes, without the ``(S, V)`` logits:
:func:`prototype_cross_entropy` (soft targets from a teacher head, DINO/iBOT) and :func:`linear_cross_entropy` (hard
labels over a codebook; on :func:`contrastive_lse` with Triton). The chunked path (CPU) takes the gradients in the
forward pass; the Triton path recomputes the logits in its backward.
"""

from __future__ import annotations

import torch

from selfsup.core.kernels import _chunked_head_ce
from selfsup.core.kernels.contrastive_lse import Backend, autocast_off, contrastive_lse, resolve_backend
from selfsup.core.objectives import _validation as check


class _TritonSoftPrototypeCE(torch.autograd.Function):
    """Per-row losses ``(S,)``; the backward recomputes the logits tile by tile."""

    @staticmethod
    def forward(ctx, h, w, ht, wt, center, student_temp, teacher_temp):  # type: ignore[override]
        from selfsup.core.kernels import _triton_soft_ce

        h, w, ht, wt = (x.contiguous() for x in (h, w, ht, wt))
        center = center.contiguous().float() if center is not None else None
        with autocast_off(h):
            loss, lse_s, lse_t = _triton_soft_ce.soft_ce_forward(h, w, ht, wt, center, student_temp, teacher_temp)
        ctx.save_for_backward(h, w, ht, wt, center, lse_s, lse_t)
        ctx.temps = (student_temp, teacher_temp)
        return loss

    @staticmethod
    def backward(ctx, g):  # type: ignore[override]
        from selfsup.core.kernels import _triton_soft_ce

        h, w, ht, wt, center, lse_s, lse_t = ctx.saved_tensors
        with autocast_off(h):
            dh, dw = _triton_soft_ce.soft_ce_backward(h, w, ht, wt, center, *ctx.temps, lse_s, lse_t,
                                                      g.contiguous().to(lse_s.dtype))
        return dh.to(h.dtype), dw.to(w.dtype), None, None, None, None, None


class _LossWithForwardGradients(torch.autograd.Function):
    """A scalar loss of ``(h, w)`` whose gradients ``compute(h, w, need_dh, need_dw) -> (loss, dh, dw)`` returns from
    the same pass as the loss (``_chunked_head_ce``); the backward only scales them by the upstream gradient.
    ``grad_enabled``: the caller's grad mode (off inside ``forward``), so that no gradient is computed under
    ``torch.no_grad``."""

    @staticmethod
    def forward(ctx, h, w, compute, grad_enabled):  # type: ignore[override]
        need_dh, need_dw = (grad_enabled and need for need in ctx.needs_input_grad[:2])
        with autocast_off(h):
            loss, dh, dw = compute(h, w, need_dh, need_dw)
        ctx.save_for_backward(dh, dw)
        ctx.dtypes = (h.dtype, w.dtype)
        return loss

    @staticmethod
    def backward(ctx, g):  # type: ignore[override]
        dh, dw = ctx.saved_tensors
        h_dtype, w_dtype = ctx.dtypes
        return (dh.mul(g).to(h_dtype) if dh is not None else None,
                dw.mul(g).to(w_dtype) if dw is not None else None, None, None)


def _check_head(name: str, hidden: torch.Tensor, weight: torch.Tensor) -> None:
    check.require_float(f"{name} hidden", hidden, 2)
    check.require_float(f"{name} weight", weight, 2)
    if hidden.shape[1] != weight.shape[1]:
        raise ValueError(f"{name} hidden (S, H) = {tuple(hidden.shape)} and weight (V, H) = "
                         f"{tuple(weight.shape)} disagree on H")


def prototype_cross_entropy(hidden: torch.Tensor, weight: torch.Tensor, teacher_hidden: torch.Tensor,
                            teacher_weight: torch.Tensor, *, student_temp: float = 0.1,
                            teacher_temp: float = 0.04, center: torch.Tensor | None = None,
                            backend: Backend = "auto") -> torch.Tensor:
    """Mean over rows of ``-sum_v p_teacher(v) log p_student(v)`` for linear prototype heads.

    Args:
        hidden: ``(S, H)`` student features (tokens or images); weight: ``(V, H)`` prototypes.
        teacher_hidden: ``(S, H)``; teacher_weight: ``(V, H)`` (no gradient flows into either).
        center: optional ``(V,)`` teacher centre subtracted from the teacher logits.
        backend: ``auto`` (Triton on CUDA for large heads, chunked PyTorch otherwise: ``resolve_backend``),
            ``triton`` or ``chunked``.
    """
    _check_head("student", hidden, weight)
    _check_head("teacher", teacher_hidden, teacher_weight)
    check.require_same_shape("hidden", hidden, "teacher_hidden", teacher_hidden)
    check.require_same_shape("weight", weight, "teacher_weight", teacher_weight)
    if center is not None and center.shape != (weight.shape[0],):
        raise ValueError(f"center must have shape ({weight.shape[0]},), got {tuple(center.shape)}")
    if hidden.shape[0] == 0:
        raise ValueError("prototype_cross_entropy got no rows")
    check.require_positive("student_temp", student_temp)
    check.require_positive("teacher_temp", teacher_temp)
    check.require_finite(hidden=hidden, weight=weight, teacher_hidden=teacher_hidden, teacher_weight=teacher_weight)
    chosen = resolve_backend(backend, hidden.device, hidden.dtype, hidden.shape[0] * weight.shape[0], hidden.shape[1],
                             kernel="head")
    ht, wt = teacher_hidden.detach().to(hidden.dtype), teacher_weight.detach().to(hidden.dtype)
    center = center.detach() if center is not None else None
    if chosen == "triton":
        return _TritonSoftPrototypeCE.apply(hidden, weight, ht, wt, center, float(student_temp),
                                            float(teacher_temp)).mean()
    return _LossWithForwardGradients.apply(
        hidden, weight, lambda h, w, *needs: _chunked_head_ce.soft_ce_mean(
            h, w, ht, wt, center, float(student_temp), float(teacher_temp), *needs), torch.is_grad_enabled())


def linear_cross_entropy(hidden: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor, *,
                         backend: Backend = "auto") -> torch.Tensor:
    """Mean cross-entropy of ``hidden (S, H) @ weight (V, H)^T`` against integer ``labels (S,)``."""
    _check_head("", hidden, weight)
    if labels.shape != (hidden.shape[0],) or labels.dtype.is_floating_point:
        raise ValueError(f"labels must be an integer tensor of shape ({hidden.shape[0]},), "
                         f"got {labels.dtype} {tuple(labels.shape)}")
    if labels.numel() == 0:
        raise ValueError("linear_cross_entropy got no rows")
    if int(labels.min()) < 0 or int(labels.max()) >= weight.shape[0]:
        raise ValueError(f"labels must lie in [0, {weight.shape[0]}), got [{int(labels.min())}, {int(labels.max())}]")
    check.require_finite(hidden=hidden, weight=weight)
    if resolve_backend(backend, hidden.device, hidden.dtype, hidden.shape[0] * weight.shape[0],
                       hidden.shape[1]) == "chunked":
        return _LossWithForwardGradients.apply(
            hidden, weight, lambda h, w, *needs: _chunked_head_ce.hard_ce_mean(h, w, labels, *needs),
            torch.is_grad_enabled())
    lse = contrastive_lse(hidden, weight, 1.0, backend="triton")
    target_logit = (hidden.float() * weight[labels].float()).sum(dim=1)
    return (lse - target_logit).mean()
