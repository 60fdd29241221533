"""SSL objectives: pure functions of tensors plus thin ``nn.Module`` wrappers.

Cross-batch objectives take ``gather``: under DDP the loss and gradients over N ranks equal one
process on the whole batch. Half-precision inputs are computed in float32.
"""

from selfsup.core.objectives.barlow_twins import BarlowTwinsLoss, barlow_twins
from selfsup.core.objectives.dcl import DCLLoss, DCLWLoss, dcl, dclw
from selfsup.core.objectives.dino import DINOLoss, dino
from selfsup.core.objectives.info_nce import InfoNCELoss, info_nce
from selfsup.core.objectives.latent_prediction import (
    LatentPredictionLoss,
    latent_prediction,
    normalized_teacher_target,
)
from selfsup.core.objectives.masked_reconstruction import (
    MaskedReconstructionLoss,
    masked_reconstruction,
)
from selfsup.core.objectives.masked_token_cross_entropy import (
    MaskedTokenCrossEntropy,
    masked_token_cross_entropy,
)
from selfsup.core.objectives.negative_cosine import NegativeCosineLoss, negative_cosine
from selfsup.core.objectives.nt_xent import NTXentLoss, nt_xent
from selfsup.core.objectives.supcon import SupConLoss, supcon
from selfsup.core.objectives.vicreg import VICRegLoss, vicreg

__all__ = [
    "BarlowTwinsLoss", "DCLLoss", "DCLWLoss", "DINOLoss", "InfoNCELoss", "LatentPredictionLoss",
    "MaskedReconstructionLoss", "MaskedTokenCrossEntropy", "NTXentLoss", "NegativeCosineLoss",
    "SupConLoss", "VICRegLoss", "barlow_twins", "dcl", "dclw", "dino", "info_nce",
    "latent_prediction", "masked_reconstruction", "masked_token_cross_entropy",
    "negative_cosine", "normalized_teacher_target", "nt_xent", "supcon", "vicreg",
]
