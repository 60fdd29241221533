"""Rank-0 run logs: JSON lines (``log.jsonl``), optional TensorBoard, and peak-memory readings."""

from __future__ import annotations

import json
import resource
from pathlib import Path
from typing import Any

import torch

from selfsup.core import atomic
from selfsup.core.extras import require


def peak_memory_mib(device: torch.device) -> float:
    """Peak allocated CUDA memory on a GPU, else the process's peak resident set size."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class RunLogger:
    """Appends one JSON object per call to ``output_dir/log.jsonl`` (and TensorBoard scalars)."""

    def __init__(self, output_dir: str | Path, enabled: bool, tensorboard: bool = False) -> None:
        self.enabled = enabled
        self.path = Path(output_dir) / "log.jsonl"
        self.writer = None
        if enabled and tensorboard:
            board = require("torch.utils.tensorboard", extra="tensorboard", package="selfsup-core",
                            purpose="tensorboard=True (--tensorboard)")
            self.writer = board.SummaryWriter(str(Path(output_dir) / "tensorboard"))

    def log(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")
        if self.writer is not None:
            for key, value in record.items():
                if isinstance(value, (int, float)) and key != "step":
                    self.writer.add_scalar(key, value, record["step"])

    def drop_after(self, step: int) -> None:
        """Remove the records of steps after ``step`` (a resumed run logs them again)."""
        if not self.enabled or not self.path.is_file():
            return
        kept = [line for line in self.path.read_text().splitlines(keepends=True)
                if line.strip() and _step_of(line) <= step]
        atomic.write_text(self.path, "".join(kept))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _step_of(line: str) -> float:
    try:
        return json.loads(line).get("step", -1)
    except ValueError:  # a line cut by a killed writer
        return float("inf")
