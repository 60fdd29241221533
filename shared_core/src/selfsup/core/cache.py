"""The folder where selfsup keeps what it derives or downloads: ``$SELFSUP_CACHE``, by default ``~/.cache/selfsup``."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """``$SELFSUP_CACHE/<parts>`` (default ``~/.cache/selfsup/<parts>``), read at each call; nothing is created."""
    return Path(os.environ.get("SELFSUP_CACHE", Path.home() / ".cache" / "selfsup")).joinpath(*parts)
