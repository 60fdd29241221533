"""Barlow Twins (Zbontar et al. 2021): the cross-correlation of the two views' embeddings -> identity."""

from typing import ClassVar

from selfsup.vision.methods._two_view import AugmentedTwoView


class BarlowTwins(AugmentedTwoView):
    """Projector 2048 -> 2048 with batch norm (solo-learn's CIFAR widths), lambda 5e-3 (the core default)."""

    OBJECTIVE = "barlow_twins"
    DEFAULTS: ClassVar[dict] = {"hidden_dim": 2048, "proj_dim": 2048}
