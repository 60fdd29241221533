"""A package's public names imported on first access (PEP 562), so that importing the package (its plugin entry
point, ``selfsup --help``) does not import the libraries behind them (torchvision, PyG, MONAI, transformers)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, modules: dict[str, list[str]]) -> tuple[list[str], Callable[[str], Any],
                                                                        Callable[[], list[str]]]:
    """``(__all__, __getattr__, __dir__)`` for ``package``, whose public names are ``{submodule: [names]}``::

        __all__, __getattr__, __dir__ = lazy_exports(__name__, {"build": ["build_encoder", "build_method"]})
    """
    where = {name: module for module, names in modules.items() for name in names}
    namespace = importlib.import_module(package).__dict__

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{where[name]}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(where)

    return sorted(where), __getattr__, __dir__
