"""Training configuration: one flat dataclass, checked at construction with messages that say what to change."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

DEFAULT_EPOCHS = 10  # the run's length when neither epochs nor max_steps is given


@dataclass
class TrainConfig:
    """How to train.

    ``batch_size`` is the global batch of one forward pass (split across ranks under DDP); one
    optimizer step sees ``batch_size * grad_accum`` samples. The run's length: ``epochs`` passes over the data
    (``DEFAULT_EPOCHS``, 10, when neither is given), or ``max_steps`` optimizer steps when only it is given; with
    both, ``max_steps`` caps ``epochs``. ``resume="auto"`` continues from the newest checkpoint in ``output_dir``
    that verifies; a run that does not resume needs an empty ``output_dir`` or ``overwrite=True``. With
    ``on_nonfinite="skip"`` a step with a non-finite loss or gradient is skipped, and the run stops once more than
    ``max_nonfinite_fraction`` of its steps were.
    """

    #: Settings a resumed run must share with its checkpoint (they shape the trajectory or the data order).
    FIXED_ON_RESUME = ("batch_size", "grad_accum", "seed", "optimizer", "betas", "warmup_steps", "min_lr_ratio",
                       "ema_momentum", "ema_momentum_end", "drop_last")
    #: Settings that only say where and how to report: not compared on resume.
    OPERATIONAL = ("output_dir", "resume", "overwrite", "progress", "device", "num_workers", "log_every",
                   "tensorboard")

    output_dir: str
    epochs: int | None = None
    max_steps: int | None = None
    batch_size: int = 256
    grad_accum: int = 1
    optimizer: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 0.05
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_steps: int = 0
    min_lr_ratio: float = 0.0
    clip_grad_norm: float | None = None
    amp: str = "auto"
    ema_momentum: float = 0.996
    ema_momentum_end: float = 1.0
    checkpoint_every: int = 0
    keep_checkpoints: int = 2
    log_every: int = 10
    seed: int = 0
    num_workers: int = 0
    drop_last: bool = True
    on_nonfinite: str = "raise"
    max_bad_fraction: float = 0.01
    max_nonfinite_fraction: float = 0.1
    tensorboard: bool = False
    progress: bool = True
    resume: str | None = None
    overwrite: bool = False
    device: str | None = None

    def __post_init__(self) -> None:
        problems = []
        for name in ("epochs", "batch_size", "grad_accum", "log_every", "keep_checkpoints"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.max_steps is not None and self.max_steps < 1:
            problems.append(f"max_steps must be >= 1 or None, got {self.max_steps}")
        if self.optimizer not in ("adamw", "adam", "lars", "sgd"):
            problems.append(f"optimizer must be 'adamw', 'adam', 'lars' or 'sgd', got {self.optimizer!r}")
        if self.amp not in ("auto", "bf16", "off"):
            problems.append(f"amp must be 'auto', 'bf16' or 'off', got {self.amp!r}")
        if self.on_nonfinite not in ("raise", "skip"):
            problems.append(f"on_nonfinite must be 'raise' or 'skip', got {self.on_nonfinite!r}")
        if not self.lr > 0:
            problems.append(f"lr must be > 0, got {self.lr}")
        if self.warmup_steps < 0 or self.checkpoint_every < 0:
            problems.append("warmup_steps and checkpoint_every must be >= 0")
        for name in ("max_bad_fraction", "max_nonfinite_fraction"):
            if not 0 <= getattr(self, name) <= 1:
                problems.append(f"{name} must lie in [0, 1], got {getattr(self, name)}")
        if not 0 <= self.min_lr_ratio <= 1:
            problems.append(f"min_lr_ratio must lie in [0, 1], got {self.min_lr_ratio}")
        if problems:
            raise ValueError("invalid TrainConfig: " + "; ".join(problems))
        self.betas = tuple(self.betas)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown TrainConfig fields {unknown}; known: {sorted(known)}")
        return cls(**values)
