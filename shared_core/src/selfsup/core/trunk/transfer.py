"""Trunk-only checkpoints: export a trunk trained on one modality, import it under another tokenizer."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from safetensors.torch import load_file, save_file

from selfsup.core.trunk.trunk import Trunk, TrunkConfig

CONFIG, WEIGHTS = "trunk_config.json", "trunk.safetensors"


def export_trunk(trunk: Trunk, directory: str | Path) -> Path:
    """Write ``trunk_config.json`` and ``trunk.safetensors`` (the trunk alone: no tokenizer, no head)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / CONFIG).write_text(json.dumps(asdict(trunk.config), indent=2))
    save_file({k: v.detach().contiguous().cpu() for k, v in trunk.state_dict().items()}, str(directory / WEIGHTS))
    return directory


def check_trunk_sizes(saved: dict, into: Trunk, where: str) -> None:
    """Raise a ValueError naming every size (``TrunkConfig.shape()``) where ``saved`` and ``into`` differ."""
    differences = {k: (v, into.config.shape()[k]) for k, v in saved.items() if into.config.shape()[k] != v}
    if differences:
        detail = ", ".join(f"{k}: saved {a} vs target {b}" for k, (a, b) in differences.items())
        raise ValueError(f"cannot load the trunk {where}: sizes differ ({detail})")


def import_trunk(directory: str | Path, into: Trunk | None = None) -> Trunk:
    """Load an exported trunk, into ``into`` (another model's trunk) or a new :class:`Trunk`.

    Sizes must agree (dim, depth, heads, MLP ratio, qkv bias): a clear error names the difference.
    Modality embeddings present in both are loaded; the target's other ones are left as they are.
    """
    directory = Path(directory)
    if not (directory / CONFIG).is_file() or not (directory / WEIGHTS).is_file():
        raise FileNotFoundError(f"{directory} has no {CONFIG} + {WEIGHTS} written by export_trunk")
    config = TrunkConfig(**json.loads((directory / CONFIG).read_text()))
    if into is None:
        into = Trunk(**asdict(config))
    check_trunk_sizes(config.shape(), into, f"in {directory}")
    if config.cls_token != into.config.cls_token or config.num_registers != into.config.num_registers:
        raise ValueError(f"cannot load the trunk in {directory}: prefix tokens differ (saved cls={config.cls_token}, "
                         f"registers={config.num_registers}; target cls={into.config.cls_token}, "
                         f"registers={into.config.num_registers})")
    state = load_file(str(directory / WEIGHTS))
    shared = {k: v for k, v in state.items() if not k.startswith("modality_embed.") or k in into.state_dict()}
    into.load_state_dict(shared, strict=False)
    missing = [k for k in into.state_dict() if k not in shared and not k.startswith("modality_embed.")]
    if missing:
        raise ValueError(f"{directory} lacks trunk weights {missing[:5]}")
    return into
