"""DINO (Caron et al. 2021) on images: multi-crop student, EMA teacher on the global crops, centring."""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from selfsup.core.methods import EMADistillation
from selfsup.vision.augment import multicrop_views
from selfsup.vision.methods._views import make_views


class DINOHead(nn.Module):
    """DINO's projection head: MLP -> L2-normalised bottleneck -> weight-normalised linear layer onto
    ``out_dim`` prototypes (its norm frozen at 1, as in the paper's code)."""

    def __init__(self, in_dim: int, out_dim: int, hidden_dim: int = 2048, bottleneck_dim: int = 256) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.GELU(), nn.Linear(hidden_dim, hidden_dim), nn.GELU(),
                                 nn.Linear(hidden_dim, bottleneck_dim))
        self.last = weight_norm(nn.Linear(bottleneck_dim, out_dim, bias=False))
        self.last.parametrizations.weight.original0.data.fill_(1.0)
        self.last.parametrizations.weight.original0.requires_grad_(False)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, bottleneck_dim)`` unit-norm inputs of the prototype layer."""
        return F.normalize(self.mlp(x), dim=-1)

    @property
    def prototypes(self) -> torch.Tensor:
        """``(out_dim, bottleneck_dim)`` the prototype layer's (weight-normalised) weight."""
        return self.last.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.last(self.features(x))


class DINO(EMADistillation):
    """Student sees 2 global + ``num_local`` local crops (views of one size run through the encoder
    together); the teacher sees the 2 global crops. Loss: :class:`selfsup.core.objectives.DINOLoss`.

    Args:
        out_dim: number of prototypes of the head.
        augment: module returning the views, global ones first (default: :func:`multicrop_views`).
        fused_head: compute the loss from the heads' bottleneck features and prototypes with
            :meth:`DINOLoss.forward_heads` (``selfsup.core.kernels.prototype_cross_entropy``), without the
            ``(views, B, out_dim)`` logits: the same loss and gradients in memory linear in ``out_dim``, for
            the paper's 65536 prototypes.
    """

    def __init__(self, encoder: nn.Module, *, augment: nn.Module | None = None, image_size: int = 32,
                 num_local: int = 4, out_dim: int = 4096, hidden_dim: int = 2048, teacher_temp: float = 0.04,
                 student_temp: float = 0.1, gather: bool = True, fused_head: bool = False) -> None:
        super().__init__(encoder, "dino", out_dim=out_dim, hidden_dim=hidden_dim, teacher_temp=teacher_temp,
                         student_temp=student_temp, gather=gather)
        self.fused_head = fused_head
        self.augment = augment if augment is not None else multicrop_views(image_size, num_local=num_local)
        self.head = DINOHead(encoder.out_dim, out_dim, hidden_dim)
        self.teacher["head"] = copy.deepcopy(self.head).requires_grad_(False)

    def _by_size(self, module, views: list[torch.Tensor]) -> list[torch.Tensor]:
        out, start = [], 0
        while start < len(views):
            end = start
            while end < len(views) and views[end].shape == views[start].shape:
                end += 1
            out.extend(module(torch.cat(views[start:end])).chunk(end - start))
            start = end
        return out

    def forward(self, batch) -> dict[str, torch.Tensor]:
        views = make_views(self.augment, batch)
        if len(views) < 2 or views[0].shape != views[1].shape:
            raise ValueError("DINO needs two global views of the same size first, then any local views")
        head, teacher_head = self.head, self.teacher["head"]

        def project(module: DINOHead, x: torch.Tensor) -> torch.Tensor:
            """The head's logits, or with ``fused_head`` the bottleneck features they are computed from."""
            return module.features(x) if self.fused_head else module(x)

        student = torch.stack(self._by_size(lambda x: project(head, self.encoder(x)), views))
        with torch.no_grad():
            teacher = torch.stack(project(teacher_head, self.teacher["encoder"](torch.cat(views[:2]))).chunk(2))
        if self.fused_head:  # the teacher's prototypes need no gradient: its parameters are frozen
            return {"loss": self.dino.forward_heads(student, head.prototypes, teacher, teacher_head.prototypes)}
        return {"loss": self.dino(student, teacher)}
