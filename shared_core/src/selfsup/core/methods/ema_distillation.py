"""Self-distillation from an EMA teacher: BYOL (negative cosine) and DINO (centred prototypes).

The trainer calls ``update_teacher(momentum)`` after every optimizer step with its cosine schedule.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from selfsup.core.methods._heads import feature_dim, mlp_head, two_views
from selfsup.core.objectives import DINOLoss, negative_cosine


class EMADistillation(nn.Module):
    """Student (encoder + head [+ predictor]) and a frozen EMA copy of encoder + head as teacher.

    Args:
        kind: ``"byol"`` (predictor, negative cosine to the other view's teacher output) or
            ``"dino"`` (``out_dim`` prototypes, centred and sharpened teacher, :class:`DINOLoss`).
        gather: DINO's centre is averaged over all ranks under DDP.
    """

    def __init__(self, encoder: nn.Module, kind: str = "byol", *, out_dim: int = 256, hidden_dim: int = 256,
                 teacher_temp: float = 0.04, student_temp: float = 0.1, gather: bool = True) -> None:
        super().__init__()
        if kind not in ("byol", "dino"):
            raise ValueError(f"kind must be 'byol' or 'dino', got {kind!r}")
        self.kind, self.encoder = kind, encoder
        self.head = mlp_head(feature_dim(encoder), hidden_dim, out_dim)
        self.predictor = mlp_head(out_dim, hidden_dim // 4, out_dim) if kind == "byol" else nn.Identity()
        self.teacher = nn.ModuleDict({"encoder": copy.deepcopy(encoder), "head": copy.deepcopy(self.head)})
        self.teacher.requires_grad_(False)
        self.dino = DINOLoss(out_dim, teacher_temp=teacher_temp, student_temp=student_temp, gather=gather) \
            if kind == "dino" else None

    def forward(self, batch) -> dict[str, torch.Tensor]:
        v1, v2 = two_views(batch)
        views = torch.cat([v1, v2])
        student = self.predictor(self.head(self.encoder(views))).chunk(2)
        with torch.no_grad():  # the teacher runs in the student's mode (batch statistics in training, as BYOL)
            teacher = self.teacher["head"](self.teacher["encoder"](views)).chunk(2)
        if self.dino is not None:
            return {"loss": self.dino(torch.stack(student), torch.stack(teacher))}
        return {"loss": 0.5 * (negative_cosine(student[0], teacher[1]) + negative_cosine(student[1], teacher[0]))}

    @torch.no_grad()
    def update_teacher(self, momentum: float) -> None:
        """``teacher = momentum * teacher + (1 - momentum) * student``; buffers copied."""
        pairs = ((self.teacher["encoder"], self.encoder), (self.teacher["head"], self.head))
        for teacher, student in pairs:
            for t, s in zip(teacher.parameters(), student.parameters(), strict=True):
                t.lerp_(s, 1 - momentum)
            for t, s in zip(teacher.buffers(), student.buffers(), strict=True):
                t.copy_(s)
