"""Training engine: :class:`Trainer`, its :class:`TrainConfig`, optimizers, schedules, checkpoints, run folders."""

from selfsup.core.train.checkpoint import (
    CheckpointError,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    load_latest,
    save_checkpoint,
    verify_checkpoint,
)
from selfsup.core.train.config import TrainConfig
from selfsup.core.train.optim import LARS, build_optimizer, parameter_groups
from selfsup.core.train.rng import seed_everything
from selfsup.core.train.run_folder import OutputFolderInUse, claim_output
from selfsup.core.train.sampler import ResumableBatchSampler
from selfsup.core.train.schedule import cosine_momentum, warmup_cosine
from selfsup.core.train.trainer import NonFiniteLossError, Trainer

__all__ = [
    "LARS", "CheckpointError", "NonFiniteLossError", "OutputFolderInUse", "ResumableBatchSampler", "TrainConfig",
    "Trainer", "build_optimizer", "claim_output", "cosine_momentum", "latest_checkpoint", "list_checkpoints",
    "load_checkpoint", "load_latest", "parameter_groups", "save_checkpoint", "seed_everything", "verify_checkpoint",
    "warmup_cosine",
]
