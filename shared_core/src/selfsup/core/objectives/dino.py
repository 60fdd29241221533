"""DINO self-distillation (Caron et al. 2021): student matches the centred, sharpened teacher.

Multi-crop: the student sees S views (global crops first, then local crops), the teacher the
T global views; every (teacher view t, student view s) pair with t != s is a term.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.core import distributed
from selfsup.core.objectives import _validation as check


def _stack(name: str, views: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
    if isinstance(views, torch.Tensor):
        check.require_float(name, views, 3)
        return views
    shapes = {tuple(v.shape) for v in views}
    if len(shapes) != 1:
        raise ValueError(f"all {name} views must have the same (B, K) shape, got {sorted(shapes)}")
    stacked = torch.stack(list(views))
    check.require_float(name, stacked, 3)
    return stacked


def dino(student: torch.Tensor | Sequence[torch.Tensor],
         teacher: torch.Tensor | Sequence[torch.Tensor],
         center: torch.Tensor | None = None, *,
         student_temp: float = 0.1, teacher_temp: float = 0.04) -> torch.Tensor:
    """DINO cross-entropy.

    Args:
        student: ``(S, B, K)`` logits (or a list of S ``(B, K)`` tensors).
        teacher: ``(T, B, K)`` logits of the global views, ``T <= S``; no gradient flows into it.
        center: ``(K,)`` (or broadcastable) teacher centre subtracted before the softmax.
        student_temp, teacher_temp: softmax temperatures.

    Returns:
        Scalar: mean over the ``T * S - T`` cross-view pairs and the batch of
        ``-sum_k softmax((t - c) / tt)_k * log_softmax(s / st)_k``.
    """
    s = _stack("student", student)
    t = _stack("teacher", teacher).detach()
    if s.shape[1:] != t.shape[1:]:
        raise ValueError(f"student views (B, K) = {tuple(s.shape[1:])} differ from teacher's "
                         f"{tuple(t.shape[1:])}")
    if t.shape[0] > s.shape[0]:
        raise ValueError(f"teacher has {t.shape[0]} views but student only {s.shape[0]}; "
                         "the teacher's views must be the student's first views")
    n_pairs = t.shape[0] * s.shape[0] - t.shape[0]
    if n_pairs == 0:
        raise ValueError("dino needs at least two views in total to form a cross-view pair")
    check.require_positive("student_temp", student_temp)
    check.require_positive("teacher_temp", float(teacher_temp))
    check.require_finite(student=s, teacher=t, center=center)

    t = check.upcast(t)
    if center is not None:
        t = t - center.reshape(-1)
    teacher_prob = F.softmax(t / teacher_temp, dim=-1)                  # (T, B, K)
    student_logp = F.log_softmax(check.upcast(s) / student_temp, dim=-1)  # (S, B, K)
    cross = -torch.einsum("tbk,sbk->ts", teacher_prob, student_logp)      # (T, S) summed over B
    same_view = torch.eye(t.shape[0], s.shape[0], dtype=torch.bool, device=cross.device)
    return cross.masked_fill(same_view, 0.0).sum() / (n_pairs * s.shape[1])


class DINOLoss(nn.Module):
    """DINO loss with the teacher centre (momentum buffer) and the teacher-temperature schedule.

    The teacher temperature rises linearly from ``warmup_teacher_temp`` to ``teacher_temp``
    over ``warmup_teacher_temp_epochs`` (pass ``epoch=`` to ``forward``). After each forward
    the centre moves towards the batch mean of the teacher logits (over all ranks when
    ``gather``).
    """

    center: torch.Tensor

    def __init__(self, out_dim: int, *, teacher_temp: float = 0.04,
                 warmup_teacher_temp: float = 0.04, warmup_teacher_temp_epochs: int = 0,
                 student_temp: float = 0.1, center_momentum: float = 0.9,
                 gather: bool = False) -> None:
        super().__init__()
        self.teacher_temp, self.warmup_teacher_temp = teacher_temp, warmup_teacher_temp
        self.warmup_teacher_temp_epochs = warmup_teacher_temp_epochs
        self.student_temp, self.center_momentum, self.gather = student_temp, center_momentum, gather
        self.register_buffer("center", torch.zeros(out_dim))

    def teacher_temperature(self, epoch: int | None) -> float:
        """Teacher temperature at ``epoch`` (the final one when ``epoch`` is None)."""
        warmup = self.warmup_teacher_temp_epochs
        if epoch is None or epoch >= warmup:
            return self.teacher_temp
        if warmup == 1:
            return self.warmup_teacher_temp
        step = (self.teacher_temp - self.warmup_teacher_temp) / (warmup - 1)
        return self.warmup_teacher_temp + epoch * step

    def forward(self, student: torch.Tensor | Sequence[torch.Tensor],
                teacher: torch.Tensor | Sequence[torch.Tensor],
                epoch: int | None = None) -> torch.Tensor:
        teacher = _stack("teacher", teacher)
        if teacher.shape[-1] != self.center.shape[0]:
            raise ValueError(f"teacher logits have {teacher.shape[-1]} prototypes, "
                             f"DINOLoss was built with out_dim={self.center.shape[0]}")
        loss = dino(student, teacher, self.center, student_temp=self.student_temp,
                    teacher_temp=self.teacher_temperature(epoch))
        self.update_center(teacher)
        return loss

    @torch.no_grad()
    def update_center(self, teacher: torch.Tensor) -> None:
        """EMA of the teacher logits' mean over views and (global) batch."""
        flat = check.upcast(teacher.detach()).reshape(-1, teacher.shape[-1])
        total = flat.sum(dim=0)
        count = torch.tensor(float(flat.shape[0]), device=flat.device)
        if self.gather:
            total, count = distributed.all_reduce_sum(total), distributed.all_reduce_sum(count)
        batch_center = (total / count).to(self.center.dtype)
        self.center.mul_(self.center_momentum).add_(batch_center, alpha=1 - self.center_momentum)
