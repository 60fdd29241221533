"""A run owns its output folder: an exclusive lock for the run's lifetime, and no new run over an old one.

    folder = claim_output("runs/photos", resume=False, overwrite=False)   # raises if taken or not empty
    ...
    folder.release()

The lock is ``flock`` on ``OUTPUT/.lock`` (released by the kernel when the process dies, so a killed run never
leaves a stale lock); the file names the holder's pid, host and start time for the error a second run gets.
Claims are counted per process, so the command line and the :class:`~selfsup.core.train.Trainer` it starts can
both claim the folder. On claiming, the temporary files of a killed checkpoint writer are removed.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from selfsup.core import distributed
from selfsup.core.train.checkpoint import remove_leftovers

LOCK_FILE = ".lock"
#: What a run writes in its folder; ``overwrite`` deletes these and leaves anything else alone.
RUN_FILES = ("latest", "log.jsonl", "skipped.jsonl", "summary.json", "config.yaml", "index.npz", "encoder",
             "tensorboard")


class OutputFolderInUse(RuntimeError):
    """Another live process holds the output folder's lock."""


@dataclass
class RunFolder:
    """A run's claim on its output folder: the lock file that names the holder, released at the end."""
    path: Path
    fd: int
    claims: int = 1

    def release(self) -> None:
        """Drop one claim; the last one unlocks the folder."""
        self.claims -= 1
        if self.claims == 0:
            _HELD.pop(_key(self.path), None)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)


_HELD: dict[str, RunFolder] = {}


def _key(path: Path) -> str:
    return str(path.resolve())


def _holder(lock: Path) -> str:
    try:
        info = json.loads(lock.read_text())
        return f"pid {info['pid']} on {info['host']}, started {info['started']}"
    except (OSError, ValueError, KeyError):
        return "a process that did not say who it is"


def claim_output(path: str | Path, *, resume: bool, overwrite: bool = False) -> RunFolder:
    """Lock ``path`` (created if needed) for this process. A folder that already holds files is refused unless
    the run resumes (``resume``) or replaces it (``overwrite``: the previous run's files, :data:`RUN_FILES` and
    ``checkpoint-*``, are deleted first). A folder locked by a live process raises :class:`OutputFolderInUse`."""
    path = Path(path)
    held = _HELD.get(_key(path)) if path.exists() else None
    if held is not None:
        held.claims += 1
        return held
    path.mkdir(parents=True, exist_ok=True)
    lock = path / LOCK_FILE
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise OutputFolderInUse(f"{path} is in use by another run ({_holder(lock)}): wait for it to end, or choose "
                                "another output folder") from None
    try:
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                 "started": time.strftime("%Y-%m-%d %H:%M:%S")}).encode())
        remove_leftovers(path)
        present = sorted(p.name for p in path.iterdir() if p.name != LOCK_FILE)
        if present and not resume:
            if not overwrite:
                shown = ", ".join(present[:4]) + (f" and {len(present) - 4} more" if len(present) > 4 else "")
                raise FileExistsError(f"{path} is not empty ({shown}): resume the run in it (--resume auto, "
                                      "resume='auto'), replace it (--overwrite, overwrite=True), or choose another "
                                      "output folder")
            for name in present:
                entry = path / name
                if name in RUN_FILES or name.startswith("checkpoint-"):
                    shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    except BaseException:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
        raise
    folder = RunFolder(path, fd)
    _HELD[_key(path)] = folder
    return folder


def claim_on_rank0(path: str | Path, *, resume: bool, overwrite: bool = False) -> RunFolder | None:
    """:func:`claim_output` on rank 0 of a multi-process run (None on the others); when rank 0 cannot claim, every
    rank raises, so that none is left waiting for it."""
    import torch.distributed as dist

    folder, problem = None, None
    if distributed.is_main_process():
        try:
            folder = claim_output(path, resume=resume, overwrite=overwrite)
        except (OSError, RuntimeError) as err:
            problem = err
    if distributed.is_distributed():
        message = [str(problem) if problem else None]
        dist.broadcast_object_list(message, src=0)
        if message[0] and problem is None:
            raise RuntimeError(f"rank 0 could not take the output folder: {message[0]}")
    if problem is not None:
        raise problem
    return folder
