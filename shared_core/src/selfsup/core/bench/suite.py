"""What every ``selfsup bench <suite>`` shares: the flags of the suite contract (DESIGN.md)."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path


def suite_parser(suite: str, doc: str, presets: Iterable[str], *, methods_help: str = "comma-separated, or all",
                 data_root_help: str = "folder with the suite's data files") -> argparse.ArgumentParser:
    """``--preset`` (default ``default``), ``--methods``, ``--data-root`` and ``--output`` (default
    ``out/bench-<suite>``); the suite adds its own flags to the returned parser."""
    parser = argparse.ArgumentParser(prog=f"selfsup bench {suite}", description=doc.split("\n\n")[0])
    parser.add_argument("--preset", choices=sorted(presets), default="default")
    parser.add_argument("--methods", default="all", help=methods_help)
    parser.add_argument("--data-root", type=Path, default=None, help=data_root_help)
    parser.add_argument("--output", type=Path, default=Path(f"out/bench-{suite}"))
    return parser
