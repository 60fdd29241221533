"""Save and load encoders as local folders (``config.json`` + ``model.safetensors``) through
huggingface_hub's ``PyTorchModelHubMixin``; no network is touched for local folders.

    save_pretrained(encoder, "out/encoder")          # encoder made by create_encoder(...)
    encoder = load_pretrained("out/encoder")         # in another program: one line
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from huggingface_hub import PyTorchModelHubMixin
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
    """The encoder saved in ``directory`` by :func:`save_pretrained`, weights loaded, in eval mode."""
    directory = Path(directory)
    if not (directory / "config.json").is_file() or not (directory / "model.safetensors").is_file():
        raise FileNotFoundError(f"{directory} has no config.json + model.safetensors written by save_pretrained")
    return PretrainedEncoder.from_pretrained(directory, local_files_only=True).encoder.eval()
