"""Atomic checkpoints: a folder per step (``model.safetensors`` + ``state.pt``), written under a
temporary name, fsynced, then renamed; ``latest`` names the newest complete one.

A process killed at any point leaves either the previous checkpoints intact or the new one
complete: never a half-written checkpoint that resume would pick up.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

MODEL_FILE, STATE_FILE, LATEST = "model.safetensors", "state.pt", "latest"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _is_complete(path: Path) -> bool:
    return (path / MODEL_FILE).is_file() and (path / STATE_FILE).is_file()


def _step_of(path: Path) -> int:
    return int(path.name.split("-")[-1])


def list_checkpoints(directory: str | Path) -> list[Path]:
    """Complete checkpoints in ``directory``, oldest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [p for p in directory.glob("checkpoint-*") if p.is_dir() and _is_complete(p)]
    return sorted(found, key=_step_of)


def latest_checkpoint(directory: str | Path) -> Path | None:
    """The checkpoint ``latest`` names if complete, else the newest complete one, else None."""
    directory = Path(directory)
    pointer = directory / LATEST
    if pointer.is_file():
        named = directory / pointer.read_text().strip()
        if _is_complete(named):
            return named
    found = list_checkpoints(directory)
    return found[-1] if found else None


def save_checkpoint(directory: str | Path, step: int, model_state: dict[str, torch.Tensor],
                    train_state: dict[str, Any], keep: int = 2) -> Path:
    """Write checkpoint ``step`` atomically and keep the newest ``keep`` checkpoints."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, tensor in model_state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"refusing to write a checkpoint: parameter {name!r} is not finite")
    final = directory / f"checkpoint-{step:08d}"
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-checkpoint-", dir=directory))
    try:
        save_file({k: v.detach().cpu().clone().contiguous() for k, v in model_state.items()}, tmp / MODEL_FILE)
        torch.save(train_state, tmp / STATE_FILE)
        for f in (tmp / MODEL_FILE, tmp / STATE_FILE):
            _fsync(f)
        if final.exists():  # the same step written again (e.g. the last step after a resume)
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    pointer_tmp = directory / f".{LATEST}.tmp"
    pointer_tmp.write_text(final.name)
    _fsync(pointer_tmp)
    os.replace(pointer_tmp, directory / LATEST)
    for old in list_checkpoints(directory)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def load_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """``(model_state, train_state)`` of a checkpoint folder, with a clear error if it is incomplete."""
    path = Path(path)
    if not _is_complete(path):
        raise FileNotFoundError(f"{path} is not a complete checkpoint (expected {MODEL_FILE} and {STATE_FILE})")
    return load_file(path / MODEL_FILE), torch.load(path / STATE_FILE, weights_only=False)
