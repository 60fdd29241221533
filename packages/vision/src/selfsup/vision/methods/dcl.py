"""DCL (Yeh et al. 2022): decoupled contrastive loss — the positive pair leaves the denominator."""

from typing import ClassVar

from selfsup.vision.methods._two_view import AugmentedTwoView


class DCL(AugmentedTwoView):
    """SimCLR's set-up with the DCL objective; ``weighted=True`` gives DCLW (von Mises-Fisher weighting)."""

    OBJECTIVE = "dcl"
    DEFAULTS: ClassVar[dict] = {"temperature": 0.2, "hidden_dim": 2048, "proj_dim": 128}

    def __init__(self, encoder, *, weighted: bool = False, **kwargs) -> None:
        super().__init__(encoder, **kwargs)
        self.objective = "dclw" if weighted else "dcl"
