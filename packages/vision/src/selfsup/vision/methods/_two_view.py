"""Image two-view methods: the core :class:`TwoViewMethod` fed with on-device augmented views."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from selfsup.core.methods import TwoViewMethod
from selfsup.vision.augment import simclr_views
from selfsup.vision.methods._views import make_views


class AugmentedTwoView(TwoViewMethod):
    """Subclasses set ``OBJECTIVE`` (a core objective name) and ``DEFAULTS`` (its hyper-parameters).

    Args:
        encoder: image encoder with ``out_dim``.
        augment: module mapping images to a list of two views (default: SimCLR's at ``image_size``).
        kwargs: projector sizes, temperature, gather (see :class:`TwoViewMethod`).
    """

    OBJECTIVE = "nt_xent"
    DEFAULTS: ClassVar[dict] = {}

    def __init__(self, encoder: nn.Module, *, augment: nn.Module | None = None, image_size: int = 32,
                 **kwargs) -> None:
        super().__init__(encoder, self.OBJECTIVE, **{**self.DEFAULTS, **kwargs})
        self.augment = augment if augment is not None else simclr_views(image_size)

    def forward(self, batch) -> dict[str, torch.Tensor]:
        return super().forward({"views": make_views(self.augment, batch)})
