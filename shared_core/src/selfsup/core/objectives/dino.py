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


def _count_cross_view_pairs(student: torch.Tensor, teacher: torch.Tensor, student_name: str = "student",
                            teacher_name: str = "teacher", last: str = "K") -> int:
    """``T * S - T``, the (teacher view, other student view) pairs of ``(S, B, *)`` student and ``(T, B, *)`` teacher
    views, after checking that they share ``(B, last)`` and that the teacher's views can be the student's first."""
    if student.shape[1:] != teacher.shape[1:]:
        raise ValueError(f"{student_name} views (B, {last}) = {tuple(student.shape[1:])} differ from {teacher_name}'s "
                         f"{tuple(teacher.shape[1:])}")
    if student.shape[1] == 0:
        raise ValueError(f"{student_name} views hold an empty batch (B = 0): nothing to compute the loss on")
    n_student, n_teacher = student.shape[0], teacher.shape[0]
    if n_teacher > n_student:
        raise ValueError(f"{teacher_name} has {n_teacher} views but {student_name} only {n_student}; "
                         "the teacher's views must be the student's first views")
    n_pairs = n_teacher * n_student - n_teacher
    if n_pairs == 0:
        raise ValueError(f"DINO needs at least two views in total to form a cross-view pair, got {n_student} "
                         f"{student_name} and {n_teacher} {teacher_name} views")
    return n_pairs


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
    n_pairs = _count_cross_view_pairs(s, t)
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

    def forward_heads(self, student_hidden: torch.Tensor | Sequence[torch.Tensor], weight: torch.Tensor,
                      teacher_hidden: torch.Tensor | Sequence[torch.Tensor], teacher_weight: torch.Tensor,
                      epoch: int | None = None, backend: str = "auto") -> torch.Tensor:
        """The same loss and centre update as :meth:`forward` on the logits ``hidden @ weight^T``, without them.

        For heads whose last layer is linear (DINO's prototypes): the cross-view pairs go through
        :func:`selfsup.core.kernels.prototype_cross_entropy`, so no ``(B, K)`` logits are stored for backward
        and memory stays linear in the number of prototypes ``K`` (a teacher view's logits are recomputed for
        each student view it is paired with; for timings see ``benchmarks/results/kernels-cpu.md``).

        Args:
            student_hidden: ``(S, B, H)`` inputs of the student's last layer (or a list of S ``(B, H)``).
            weight: ``(K, H)`` the student's prototypes.
            teacher_hidden: ``(T, B, H)`` the teacher's, on the global views; teacher_weight: ``(K, H)``.
            backend: as for :func:`selfsup.core.kernels.prototype_cross_entropy`.
        """
        from selfsup.core import kernels  # kernels import the objectives' validation

        hs, ht = _stack("student_hidden", student_hidden), _stack("teacher_hidden", teacher_hidden).detach()
        _count_cross_view_pairs(hs, ht, "student_hidden", "teacher_hidden", last="H")
        if weight.shape != teacher_weight.shape or weight.shape != (self.center.shape[0], hs.shape[-1]):
            raise ValueError(f"weight and teacher_weight must be (K, H) = ({self.center.shape[0]}, {hs.shape[-1]}), "
                             f"got {tuple(weight.shape)} and {tuple(teacher_weight.shape)}")
        # every cross-view pair as B rows of one head call: one gradient buffer for the prototypes, and the mean
        # over the rows is the mean over pairs of the batch means
        pairs = [(ti, si) for ti in range(ht.shape[0]) for si in range(hs.shape[0]) if si != ti]
        student_rows = hs[[si for _, si in pairs]].flatten(0, 1)
        teacher_rows = ht[[ti for ti, _ in pairs]].flatten(0, 1)
        weight = weight.to(hs.dtype)  # under autocast the hidden states may be bf16, the parameters fp32
        loss = kernels.prototype_cross_entropy(student_rows, weight, teacher_rows, teacher_weight, center=self.center,
                                               student_temp=self.student_temp,
                                               teacher_temp=self.teacher_temperature(epoch), backend=backend)
        with torch.no_grad():  # the mean teacher logit is the mean teacher input through the (linear) last layer
            flat = check.upcast(ht).reshape(-1, ht.shape[-1])
            self._move_center(flat.sum(dim=0) @ check.upcast(teacher_weight.detach()).T, flat.shape[0])
        return loss

    @torch.no_grad()
    def update_center(self, teacher: torch.Tensor) -> None:
        """EMA of the teacher logits' mean over views and (global) batch."""
        flat = check.upcast(teacher.detach()).reshape(-1, teacher.shape[-1])
        self._move_center(flat.sum(dim=0), flat.shape[0])

    def _move_center(self, total: torch.Tensor, rows: int) -> None:
        """EMA step of the centre towards ``total (K,) / rows``, both summed over ranks when ``gather``."""
        count = torch.tensor(float(rows), device=total.device)
        if self.gather:
            total, count = distributed.all_reduce_sum(total), distributed.all_reduce_sum(count)
        batch_center = (total / count).to(self.center.dtype)
        self.center.mul_(self.center_momentum).add_(batch_center, alpha=1 - self.center_momentum)
