"""Atomic, verified checkpoints: a folder per step (``model.safetensors`` + ``state.pt`` + ``meta.json``), written
under a unique temporary name, fsynced, then renamed; ``latest`` names the newest complete one.

``meta.json`` holds each file's SHA-256 and size and the id of the run that wrote it: loading verifies the
files, so a truncated or altered checkpoint is named and skipped instead of resumed, and pruning removes only the
writing run's own checkpoints. ``state.pt`` holds tensors and plain Python values only and is read with
``torch.load(weights_only=True)``: a checkpoint is data, never code.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import pickle
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

MODEL_FILE, STATE_FILE, META_FILE, LATEST = "model.safetensors", "state.pt", "meta.json", "latest"
TMP_PREFIX = ".tmp-checkpoint-"


def checkpoint_name(step: int) -> str:
    """The folder name of the checkpoint after ``step``: ``checkpoint-00000012``."""
    return f"checkpoint-{step:08d}"


class CheckpointError(ValueError):
    """A checkpoint that is incomplete, damaged or holds more than data."""


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_complete(path: Path) -> bool:
    return all((path / name).is_file() for name in (MODEL_FILE, STATE_FILE, META_FILE))


def _step_of(path: Path) -> int:
    return int(path.name.split("-")[-1])


def _disk_full(err: BaseException) -> bool:
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(err)  # torch's zip writer reports a full disk as "unexpected pos ..." or a failed file write
    return isinstance(err, RuntimeError) and ("unexpected pos" in text or "No space left" in text
                                              or "PytorchStreamWriter failed" in text)


def read_meta(path: str | Path) -> dict[str, Any]:
    """A checkpoint's ``meta.json``: ``{"step", "run_id", "files": {name: {"sha256", "bytes"}}}``."""
    try:
        return json.loads((Path(path) / META_FILE).read_text())
    except (OSError, ValueError) as err:
        raise CheckpointError(f"{Path(path) / META_FILE}: unreadable ({err})") from None


def list_checkpoints(directory: str | Path, run_id: str | None = None) -> list[Path]:
    """Complete checkpoints in ``directory`` (of run ``run_id`` only, if given), oldest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [p for p in directory.glob("checkpoint-*") if p.is_dir() and _is_complete(p)]
    if run_id is not None:
        found = [p for p in found if _run_of(p) == run_id]
    return sorted(found, key=_step_of)


def _run_of(path: Path) -> str | None:
    try:
        return read_meta(path).get("run_id")
    except CheckpointError:
        return None


def latest_checkpoint(directory: str | Path) -> Path | None:
    """The checkpoint ``latest`` names if complete, else the newest complete one, else None (not verified:
    :func:`load_latest` verifies and falls back)."""
    complete = [p for p in _candidates(Path(directory)) if _is_complete(p)]
    return complete[0] if complete else None


def _candidates(directory: Path) -> list[Path]:
    """Checkpoint folders (complete or not, so that damaged ones get named), the one ``latest`` names first,
    then the others newest first."""
    found = sorted((p for p in directory.glob("checkpoint-*") if p.is_dir() and p.name.split("-")[-1].isdigit()),
                   key=_step_of, reverse=True) if directory.is_dir() else []
    pointer = directory / LATEST
    if pointer.is_file():
        named = directory / pointer.read_text().strip()
        if named in found:
            found.remove(named)
            found.insert(0, named)
    return found


def save_checkpoint(directory: str | Path, step: int, model_state: dict[str, torch.Tensor],
                    train_state: dict[str, Any], keep: int = 2, run_id: str | None = None) -> Path:
    """Write checkpoint ``step`` atomically, then keep the newest ``keep`` checkpoints of run ``run_id``
    (with no ``run_id``, of the checkpoints without one). A full disk raises an ``OSError`` that says so and
    leaves the previous checkpoints as they were."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, tensor in model_state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"refusing to write a checkpoint: parameter {name!r} is not finite")
    final = directory / checkpoint_name(step)
    tmp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=directory))
    try:
        save_file({k: v.detach().cpu().clone().contiguous() for k, v in model_state.items()}, tmp / MODEL_FILE)
        torch.save(train_state, tmp / STATE_FILE)
        files = {name: {"sha256": _sha256(tmp / name), "bytes": (tmp / name).stat().st_size}
                 for name in (MODEL_FILE, STATE_FILE)}
        (tmp / META_FILE).write_text(json.dumps({"step": step, "run_id": run_id, "files": files}, indent=1))
        for name in (MODEL_FILE, STATE_FILE, META_FILE):
            _fsync(tmp / name)
        if final.exists():  # the same step written again (e.g. the last step after a resume)
            shutil.rmtree(final)
        os.replace(tmp, final)
        _write_pointer(directory, final.name)
    except BaseException as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if _disk_full(err):
            kept = latest_checkpoint(directory)
            raise OSError(errno.ENOSPC, f"no space left on the disk of {directory} while writing the checkpoint of "
                                        f"step {step}; the previous checkpoints are kept"
                                        + (f" (newest: {kept.name})" if kept else "")
                                        + ": free some space and resume") from None
        raise
    for old in list_checkpoints(directory, run_id)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def _write_pointer(directory: Path, name: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{LATEST}.", suffix=".tmp", dir=directory)
    with os.fdopen(fd, "w") as handle:
        handle.write(name)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, directory / LATEST)


def remove_leftovers(directory: str | Path) -> list[Path]:
    """Delete the temporary folders and pointer files a killed writer left in ``directory``; return them."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    left = [*directory.glob(f"{TMP_PREFIX}*"), *directory.glob(f".{LATEST}.*.tmp"), *directory.glob(f".{LATEST}.tmp")]
    for path in left:
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    return left


def verify_checkpoint(path: str | Path) -> dict[str, Any]:
    """Check every file of checkpoint ``path`` against the size and SHA-256 in its ``meta.json``; return the
    meta. Raises :class:`CheckpointError` naming the first file that is missing, truncated or altered."""
    path = Path(path)
    if not path.is_dir() or not _is_complete(path):
        raise CheckpointError(f"{path} is not a complete checkpoint (expected {MODEL_FILE}, {STATE_FILE} and "
                              f"{META_FILE}; one written by selfsup before checksums has no {META_FILE})")
    meta = read_meta(path)
    for name, want in meta.get("files", {}).items():
        file = path / name
        size = file.stat().st_size
        if size != want["bytes"]:
            raise CheckpointError(f"{file} is {size} bytes, {want['bytes']} were written (truncated or altered)")
        if _sha256(file) != want["sha256"]:
            raise CheckpointError(f"{file} does not match the SHA-256 written with it (damaged or altered)")
    if set(meta.get("files", {})) != {MODEL_FILE, STATE_FILE}:
        raise CheckpointError(f"{path / META_FILE} does not list {MODEL_FILE} and {STATE_FILE}")
    return meta


def load_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """``(model_state, train_state)`` of a verified checkpoint folder; ``state.pt`` is read as data only
    (``weights_only=True``): one holding other objects is refused with :class:`CheckpointError`."""
    path = Path(path)
    verify_checkpoint(path)
    try:
        model_state = load_file(path / MODEL_FILE)
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"{path / MODEL_FILE}: not a readable safetensors file ({err})") from None
    try:
        state = torch.load(path / STATE_FILE, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        lines = [line.strip() for line in str(err).splitlines() if "WeightsUnpickler error" in line]
        why = lines[0].split(":", 1)[1].split(". Please use")[0].strip() if lines else type(err).__name__
        raise CheckpointError(f"{path / STATE_FILE} holds objects other than tensors and plain values; it is not "
                              f"loaded, since loading it could run code ({why})") from None
    except (RuntimeError, OSError, EOFError) as err:
        raise CheckpointError(f"{path / STATE_FILE}: unreadable ({err})") from None
    return model_state, state


def load_latest(directory: str | Path, report=print) -> tuple[Path, dict[str, torch.Tensor], dict[str, Any]] | None:
    """The newest checkpoint of ``directory`` that verifies and loads, as ``(path, model_state, train_state)``;
    each damaged one passed over is named through ``report``. None when there is no checkpoint at all; a
    :class:`CheckpointError` listing them when none loads."""
    candidates = _candidates(Path(directory))
    problems = []
    for path in candidates:
        try:
            model_state, state = load_checkpoint(path)
        except CheckpointError as err:
            problems.append(str(err))
            report(f"resume: skipping {path.name}: {err}")
            continue
        if problems:
            report(f"resume: continuing from {path.name}, the newest checkpoint that verifies")
        return path, model_state, state
    if problems:
        raise CheckpointError(f"none of the {len(problems)} checkpoints in {directory} can be resumed: "
                              + "; ".join(problems))
    return None
