"""``selfsup export``: a saved encoder written in the formats of the libraries users load models with, each export
checked by loading it back that library's way and comparing outputs on a random batch (max |difference| <= 1e-4,
relative to outputs above 1).

    selfsup export --encoder-dir runs/photos/encoder --format torchvision,onnx --output exported/

The core provides ``hf`` (safetensors + config + model card, read by ``load_pretrained``) and ``onnx`` (ONNX
Runtime); domain packages register their field's formats (``torchvision``, ``timm``, ``monai``, ...) with
``registry.register_exporter``."""

from __future__ import annotations

import shutil
from pathlib import Path

from torch import nn

from selfsup.core import registry
from selfsup.core.export.base import (
    TOLERANCE,
    Exported,
    NotExportable,
    compare,
    compare_reloaded,
    domain_of,
    encoder_kwargs,
    encoder_name,
    example_input,
    run,
)

__all__ = ["TOLERANCE", "Exported", "NotExportable", "compare", "compare_reloaded", "domain_of", "encoder_kwargs",
           "encoder_name", "example_input", "export_encoder", "formats", "run"]


def formats() -> list[str]:
    """The export formats the installed packages offer."""
    return registry.available("exporter")


def default_name(fmt: str) -> str:
    """The file or folder a format writes inside an output folder: ``hf/``, ``encoder.onnx``, ... (the exporter's
    ``default_name``, else ``encoder.<format>``)."""
    return getattr(registry.get("exporter", fmt), "default_name", f"encoder.{fmt}")


def export_encoder(encoder: nn.Module, fmts: list[str], output: str | Path, *, encoder_dir: Path | None = None,
                   overwrite: bool = False, push_to_hub: str | None = None) -> list[Exported]:
    """Export ``encoder`` in every format of ``fmts``. ``output`` is the file (one format, a name with a suffix) or
    the folder (one folder-type format such as ``hf``), else the folder that gets each format's default name. An
    existing target is refused unless ``overwrite``; a failed check removes what the export wrote. ``push_to_hub``
    (a repo id) uploads the ``hf`` folder after its check."""
    if push_to_hub and "hf" not in fmts:
        raise ValueError("--push-to-hub uploads the hf export: add hf to --format")
    output = Path(output)
    unknown = [f for f in fmts if f not in formats()]
    if unknown:
        raise ValueError(f"unknown export format {', '.join(map(repr, unknown))}; installed formats: "
                         f"{', '.join(formats())}")
    single = len(fmts) == 1 and (output.suffix != "" or "." not in default_name(fmts[0]))  # a file, or hf's folder
    done = []
    for fmt in fmts:
        target = output if single else output / default_name(fmt)
        if target.exists():
            if not overwrite:
                raise FileExistsError(f"{target} exists; give another --output or --overwrite")
            _remove(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            done.append(registry.get("exporter", fmt)(encoder, target, encoder_dir=encoder_dir,
                                                       push_to_hub=push_to_hub))
        except Exception:
            _remove(target)
            raise
    return done


def _remove(target: Path) -> None:
    """``target`` gone, a folder or a file (nothing when it does not exist)."""
    if target.is_dir():
        shutil.rmtree(target)
    elif target.exists():
        target.unlink()
