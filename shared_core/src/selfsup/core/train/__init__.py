"""Training engine: :class:`Trainer`, its :class:`TrainConfig`, optimizers, schedules and checkpoints."""

from selfsup.core.train.checkpoint import latest_checkpoint, list_checkpoints, load_checkpoint, save_checkpoint
from selfsup.core.train.config import TrainConfig
from selfsup.core.train.optim import LARS, build_optimizer, parameter_groups
from selfsup.core.train.sampler import ResumableBatchSampler
from selfsup.core.train.schedule import cosine_momentum, warmup_cosine
from selfsup.core.train.trainer import NonFiniteLossError, Trainer

__all__ = [
    "LARS", "NonFiniteLossError", "ResumableBatchSampler", "TrainConfig", "Trainer", "build_optimizer",
    "cosine_momentum", "latest_checkpoint", "list_checkpoints", "load_checkpoint", "parameter_groups",
    "save_checkpoint", "warmup_cosine",
]
