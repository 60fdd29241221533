"""Optional dependencies: imported where a feature needs them, or one line naming the extra that installs them."""

from __future__ import annotations

import importlib
from types import ModuleType


def require(module: str, *, extra: str, package: str, purpose: str) -> ModuleType:
    """``module`` imported, or an ImportError of one line naming the missing module and ``pip install
    '<package>[<extra>]'`` (the CLI prints it as its error)."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(f"{purpose} needs the '{extra}' extra ({err.name or module} is not installed): "
                          f"pip install '{package}[{extra}]'") from err


def pyplot(package: str = "selfsup-core"):
    """``matplotlib.pyplot`` on the Agg backend (files only), from the ``bench`` extra of ``package``."""
    matplotlib = require("matplotlib", extra="bench", package=package, purpose="the benchmark plots")
    matplotlib.use("Agg")
    return importlib.import_module("matplotlib.pyplot")
