"""Save and load encoders as local folders (``config.json`` + ``model.safetensors``) through
huggingface_hub's ``PyTorchModelHubMixin``; no network is touched for local folders.

    save_pretrained(encoder, "out/encoder")          # encoder made by create_encoder(...)
    encoder = load_pretrained("out/encoder")         # in another program: one line
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from huggingface_hub import PyTorchModelHubMixin
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from selfsup.core import registry


class PretrainedEncoder(nn.Module, PyTorchModelHubMixin, library_name="selfsup", tags=["self-supervised"]):
    """A registered encoder rebuilt from its name and keyword arguments (what ``config.json`` holds)."""

    def __init__(self, name: str, kwargs: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.encoder = registry.create_encoder(name, **(kwargs or {}))

    def forward(self, *args: Any, **kwargs: Any):
        return self.encoder(*args, **kwargs)


def save_pretrained(encoder: nn.Module, directory: str | Path) -> Path:
    """Write ``encoder`` (built by :func:`selfsup.core.registry.create_encoder`) to ``directory``."""
    spec = getattr(encoder, "selfsup_spec", None)
    if spec is None:
        raise ValueError("save_pretrained needs an encoder built by create_encoder(name, **kwargs) "
                         "(it records how to rebuild it); register your encoder class with register_encoder")
    wrapper = PretrainedEncoder(spec["name"], spec["kwargs"])
    wrapper.encoder.load_state_dict(encoder.state_dict())
    directory = Path(directory)
    wrapper.save_pretrained(directory)
    return directory


def load_pretrained(directory: str | Path) -> nn.Module:
    """The encoder saved in ``directory`` by :func:`save_pretrained`, weights loaded strictly, in eval mode: a
    folder whose tensors do not match the encoder its ``config.json`` names is refused, the missing and unexpected
    names listed (never a half-random encoder)."""
    directory = Path(directory)
    if not (directory / "config.json").is_file() or not (directory / "model.safetensors").is_file():
        raise FileNotFoundError(f"{directory} has no config.json + model.safetensors written by save_pretrained")
    try:
        config = json.loads((directory / "config.json").read_text())
        name, kwargs = config["name"], config.get("kwargs") or {}
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{directory / 'config.json'}: not a selfsup encoder config ({err})") from None
    wrapper = PretrainedEncoder(name, kwargs)
    try:
        weights = load_file(directory / "model.safetensors")
    except (SafetensorError, OSError) as err:
        raise ValueError(f"{directory / 'model.safetensors'}: not a readable safetensors file ({err})") from None
    result = wrapper.load_state_dict(weights, strict=False)
    expected = wrapper.state_dict()
    wrong = [k for k, v in weights.items() if k in expected and v.shape != expected[k].shape]
    if result.missing_keys or result.unexpected_keys or wrong:
        parts = [f"{label} {_names(keys)}" for label, keys in (("missing", result.missing_keys),
                                                             ("unexpected", result.unexpected_keys),
                                                             ("of another shape", wrong)) if keys]
        raise ValueError(f"{directory / 'model.safetensors'} does not hold the weights of encoder {name!r}: "
                         + "; ".join(parts))
    return wrapper.encoder.eval()


def _names(keys: list[str]) -> str:
    return ", ".join(keys[:6]) + (f" and {len(keys) - 6} more" if len(keys) > 6 else "")
