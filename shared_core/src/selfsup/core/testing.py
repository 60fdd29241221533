"""What the packages' tests share about a run folder: a copy cut as a killed run leaves it, and a checkpoint's
weights, for the kill-and-resume tests of every domain's ``selfsup pretrain DOMAIN PATH``."""

from __future__ import annotations

import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file

from selfsup.core.train.checkpoint import LATEST, MODEL_FILE, checkpoint_name


def cut_after(run: Path, cut: Path, step: int, last: int) -> None:
    """``cut``: a copy of the finished run folder ``run`` (whose last checkpoint is ``last``) as a run killed right
    after checkpoint ``step`` leaves it: the checkpoints after ``step`` and the saved encoder left out, ``latest``
    naming ``step``'s checkpoint."""
    later = [checkpoint_name(s) for s in range(step + 1, last + 1)]
    shutil.copytree(run, cut, ignore=shutil.ignore_patterns(*later, "encoder"))
    (Path(cut) / LATEST).write_text(checkpoint_name(step))


def checkpoint_weights(run: Path, step: int) -> dict[str, torch.Tensor]:
    """The model weights of ``run``'s checkpoint after ``step``."""
    return load_file(Path(run) / checkpoint_name(step) / MODEL_FILE)
