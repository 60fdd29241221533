"""How long a suite took last time on this kind of machine: what ``selfsup bench all`` prints before each suite.

Times are keyed by the machine's kind (:func:`machine_kind`: architecture, CPU cores, GPU) and ``suite/preset``.
This machine's own runs are kept in ``$SELFSUP_CACHE/bench-times.json`` (default ``~/.cache/selfsup``); the
package ships the times measured for its release (``reference_times.json``) for a machine that ran nothing yet.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import time
from pathlib import Path

from selfsup.core import atomic
from selfsup.core.cache import cache_dir

REFERENCE = Path(__file__).with_name("reference_times.json")


def machine_kind() -> str:
    """``"x86_64, 2 CPUs, no GPU"``: what a suite's time depends on (cores this process may use)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        import torch

        gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU"
    except ImportError:
        gpu = "no GPU"
    return f"{platform.machine()}, {cores} CPUs, {gpu}"


def local_path() -> Path:
    return cache_dir("bench-times.json")


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):  # none yet, or damaged: no estimate, never an error
        return {}


def load() -> dict:
    """``{"local": {kind: {"suite/preset": {"seconds", "date"}}}, "reference": {...}}``."""
    return {"local": _read(local_path()), "reference": _read(REFERENCE)}


def duration(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s" if seconds >= 60 else f"{seconds:.0f} s"


def estimate(times: dict, suite: str, preset: str, own_data: bool = False) -> str:
    """One phrase: the last time of ``suite`` at ``preset`` here, else the release's on this kind of machine."""
    if own_data:
        return "on the data given, so no earlier time applies"
    kind, key = machine_kind(), f"{suite}/{preset}"
    here = times["local"].get(kind, {}).get(key)
    if here:
        return f"last time on this machine: {duration(here['seconds'])} ({here['date']})"
    shipped = times["reference"].get(kind, {}).get(key)
    if shipped:
        return f"on this kind of machine ({kind}) it took {duration(shipped['seconds'])} when measured for the release"
    return f"no earlier run on this kind of machine ({kind})"


def record(suite: str, preset: str, seconds: float) -> None:
    """Keep this run's time for the next estimate (written through a temporary file and a rename)."""
    path = local_path()
    times = _read(path)
    times.setdefault(machine_kind(), {})[f"{suite}/{preset}"] = {"seconds": round(seconds, 1),
                                                                 "date": time.strftime("%Y-%m-%d")}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_text(path, json.dumps(times, indent=1, sort_keys=True))
    except OSError:  # a read-only home: the estimate is a convenience, the run's results are already written
        pass


def describe(suite: str, preset: str) -> str:
    """``"preset default: simclr, mae; 3 seeds"`` from the suite's ``PRESETS`` (its module's), or the preset alone."""
    module = {"core": "selfsup.core.bench.digits", "crossmodal": "selfsup.core.bench.crossmodal"}.get(
        suite, f"selfsup.{suite}.bench")
    try:
        settings = getattr(importlib.import_module(module), "PRESETS", {})
    except ImportError:
        settings = {}
    chosen = settings.get(preset) if isinstance(settings, dict) else None
    if not isinstance(chosen, dict):
        return f"preset {preset}"
    methods = ", ".join(chosen["methods"]) if chosen.get("methods") else "every method"
    seeds = chosen.get("seeds", 1)
    return f"preset {preset}: {methods}; {seeds} seed{'s' if seeds != 1 else ''}"
