"""selfsup.core: objectives, distributed helpers and evaluation shared by every selfsup domain package."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("selfsup-core")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = ["__version__"]
