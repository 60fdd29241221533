"""Volume SSL methods, one file each: ``method(batch) -> {"loss": ..., **logs}``."""

from selfsup.medical.methods.mae3d import MAE3D
from selfsup.medical.methods.models_genesis import ModelsGenesis
from selfsup.medical.methods.swin_pretraining import SwinPretraining
from selfsup.medical.methods.voco import VoCo, overlap_fractions

__all__ = ["MAE3D", "ModelsGenesis", "SwinPretraining", "VoCo", "overlap_fractions"]
