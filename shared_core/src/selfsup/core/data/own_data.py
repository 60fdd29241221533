"""What a domain package gives ``selfsup pretrain DOMAIN PATH`` and ``selfsup embed DOMAIN PATH``: one object,
registered with :func:`selfsup.core.registry.register_domain`, that opens a user's collection as a
:class:`FileSource`, builds an encoder and a method whose shapes come from the data, and embeds a batch."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch
from torch import nn

from selfsup.core.data.file_source import FileSource


class OwnData:
    """Subclass per domain. ``data_options`` maps each data flag the domain adds (:meth:`add_arguments`; dashes in
    the flag, underscores here) to its default: ``None`` means "inferred from the data" and is filled in by
    :meth:`open`, which returns the source and the options as resolved (recorded in the run's ``config.yaml``)."""

    name = ""
    what = "files"  # how the items are called in messages ("images", "audio files")
    default_method = ""
    default_encoder = ""
    data_options: dict[str, Any] = {}  # noqa: RUF012 (read-only per subclass)

    def defaults_for(self, path: str | Path) -> dict[str, Any]:
        """Defaults that depend on what ``path`` is (a graph domain: a folder of many graphs trains a graph-level
        method); the recipe, ``--config`` and flags override them."""
        return {}

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """The domain's data flags (``--image-size``, ``--clip-seconds``, ...), each defaulting to ``None``."""

    def open(self, path: str | Path, options: dict[str, Any], *, cache: Path | None, seed: int,
             replace_bad: bool, progress: bool) -> tuple[FileSource, dict[str, Any], list[dict]]:
        """``(source, resolved options, scan skip records)``."""
        raise NotImplementedError

    def build(self, options: dict[str, Any], method: str, encoder: str, method_args: dict[str, Any],
              encoder_args: dict[str, Any]) -> tuple[nn.Module, nn.Module]:
        """``(encoder made by registry.create_encoder, method)`` for data of the resolved ``options``."""
        raise NotImplementedError

    def embed(self, encoder: nn.Module, batch: dict[str, Any], options: dict[str, Any]) -> torch.Tensor:
        """``(B, D)`` features of a collated batch (the encoder in eval mode, on the batch's device)."""
        raise NotImplementedError
