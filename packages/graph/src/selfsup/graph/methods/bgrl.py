"""BGRL (Thakoor et al. 2022): bootstrapped node representations with an EMA target encoder."""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.data import Data

from selfsup.core.objectives import negative_cosine
from selfsup.core.trunk import EMATeacher
from selfsup.graph.methods._graph_batch import augmented_view, unpack


class BGRL(nn.Module):
    """The online encoder + predictor regress the target (EMA) encoder's embedding of the other view,
    symmetrised; no negatives, so the cost is linear in the number of nodes. The trainer calls
    :meth:`update_teacher` with the cosine momentum schedule (``TrainConfig.ema_momentum`` -> 1).
    The predictor is Linear-PReLU-Linear as in the paper's code; ``predictor_norm=True`` adds a batch norm
    after its first layer (BYOL's predictor). ``reinit_target=True`` starts the target from its own random
    initialisation instead of a copy of the online encoder (the paper's code does).
    """

    def __init__(self, encoder: nn.Module, *, predictor_hidden: int = 512, drop_edge: tuple[float, float] = (0.2, 0.4),
                 mask_feature: tuple[float, float] = (0.3, 0.2), predictor_norm: bool = False,
                 reinit_target: bool = False) -> None:
        super().__init__()
        self.encoder, self.drop_edge, self.mask_feature = encoder, drop_edge, mask_feature
        self.teacher = EMATeacher(encoder)
        if reinit_target:
            for module in self.teacher.module.modules():
                if module is not self.teacher.module and hasattr(module, "reset_parameters"):
                    module.reset_parameters()
        d = encoder.out_dim
        norm = nn.BatchNorm1d(predictor_hidden) if predictor_norm else nn.Identity()
        self.predictor = nn.Sequential(nn.Linear(d, predictor_hidden), norm, nn.PReLU(), nn.Linear(predictor_hidden, d))

    def forward(self, batch: Data) -> dict[str, torch.Tensor]:
        x, edge_index, seeds = unpack(batch)
        views = [augmented_view(x, edge_index, de, mf)
                 for de, mf in zip(self.drop_edge, self.mask_feature, strict=True)]
        online = [self.predictor(self.encoder(*v)[:seeds]) for v in views]
        with torch.no_grad():
            target = [self.teacher(*v)[:seeds] for v in views]
        loss = 2 + negative_cosine(online[0], target[1]) + negative_cosine(online[1], target[0])  # 2 - 2 cos, symmetric
        return {"loss": loss}

    @torch.no_grad()
    def update_teacher(self, momentum: float) -> None:
        self.teacher.update(self.encoder, momentum)
