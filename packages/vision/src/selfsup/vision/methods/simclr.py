"""SimCLR (Chen et al. 2020): NT-Xent between two augmented views, 2B-2 in-batch negatives."""

from typing import ClassVar

from selfsup.vision.methods._two_view import AugmentedTwoView


class SimCLR(AugmentedTwoView):
    """Projector 2048 -> 128, temperature 0.2 (solo-learn's CIFAR setting); the fused NT-Xent kernel."""

    OBJECTIVE = "nt_xent"
    DEFAULTS: ClassVar[dict] = {"temperature": 0.2, "hidden_dim": 2048, "proj_dim": 128}
