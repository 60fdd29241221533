"""Modality-free SSL methods: any encoder with ``out_dim`` and a dataset of two views per sample."""

from selfsup.core.methods.ema_distillation import EMADistillation
from selfsup.core.methods.simsiam import SimSiam
from selfsup.core.methods.two_view import OBJECTIVES, TwoViewMethod

__all__ = ["OBJECTIVES", "EMADistillation", "SimSiam", "TwoViewMethod"]
