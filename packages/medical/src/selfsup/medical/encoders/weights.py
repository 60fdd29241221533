"""Load pretrained weights into a volume network and say which keys were loaded and which were skipped."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

_CONTAINERS = ("state_dict", "model", "net", "network", "model_state_dict")


def _read(source) -> dict[str, torch.Tensor]:
    if isinstance(source, dict):
        state = source
    else:
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"no weights file at {path}")
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    for key in _CONTAINERS:
        if key in state and isinstance(state[key], dict):
            state = state[key]
            break
    return {k.removeprefix("module."): v for k, v in state.items() if isinstance(v, torch.Tensor)}


def load_pretrained_weights(model: nn.Module, source, *, verbose: bool = True) -> dict[str, list[str]]:
    """Copy every tensor of ``source`` (a state dict, or a ``.pt``/``.pth``/``.safetensors`` file; checkpoints
    that nest it under ``state_dict``/``model``/... and DDP's ``module.`` prefix are handled) whose name
    matches a parameter or buffer of ``model`` exactly, or matches the end of exactly one of its names (so a
    bare Swin-ViT checkpoint loads into ``net.swinViT.*``), with the same shape.

    Returns ``{"loaded": [model names], "skipped": ["name: reason", ...], "missing": [model names not
    loaded]}``, and prints a one-line summary with ``verbose``.
    """
    state = _read(source)
    target = model.state_dict()
    loaded, skipped, new_state = [], [], {}
    for key, value in state.items():
        if key in target:
            name = key
        else:
            matches = [t for t in target if t.endswith("." + key)]
            if len(matches) != 1:
                skipped.append(f"{key}: {'no such key' if not matches else f'{len(matches)} candidates'} in the model")
                continue
            name = matches[0]
        if target[name].shape != value.shape:
            skipped.append(f"{key}: shape {tuple(value.shape)} != model's {tuple(target[name].shape)}")
            continue
        new_state[name] = value
        loaded.append(name)
    model.load_state_dict(new_state, strict=False)
    report = {"loaded": loaded, "skipped": skipped, "missing": [k for k in target if k not in new_state]}
    if verbose:
        print(f"pretrained weights: {len(loaded)} tensors loaded, {len(skipped)} skipped, "
              f"{len(report['missing'])} of the model's not in the file", flush=True)
    return report
