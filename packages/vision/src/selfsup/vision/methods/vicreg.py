"""VICReg (Bardes et al. 2022): invariance + variance + covariance terms on the two views' embeddings."""

from typing import ClassVar

from selfsup.vision.methods._two_view import AugmentedTwoView


class VICReg(AugmentedTwoView):
    """Projector 2048 -> 2048 (solo-learn's CIFAR widths); weights 25/25/1 (the core defaults)."""

    OBJECTIVE = "vicreg"
    DEFAULTS: ClassVar[dict] = {"hidden_dim": 2048, "proj_dim": 2048}
