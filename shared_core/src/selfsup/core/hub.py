"""Save and load encoders as folders (``config.json`` + ``model.safetensors``) through huggingface_hub's
``PyTorchModelHubMixin``; a local folder touches no network, a Hub repo id is downloaded first.

    save_pretrained(encoder, "out/encoder")          # built by create_encoder(...) or a domain's build_encoder
    encoder = load_pretrained("out/encoder")         # in another program: one line
    encoder = load_pretrained("user/repo")           # the same from the Hub (selfsup export --push-to-hub)
"""

from __future__ import annotations

import json
import re
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


REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
HUB_FILES = ["config.json", "model.safetensors", "README.md"]


def save_pretrained(encoder: nn.Module, directory: str | Path) -> Path:
    """Write ``encoder`` (built by :func:`selfsup.core.registry.create_encoder` or a domain's ``build_encoder``,
    which record how to rebuild it) to ``directory``."""
    spec = getattr(encoder, "selfsup_spec", None)
    if spec is None:
        raise ValueError("save_pretrained needs an encoder built by create_encoder(name, **kwargs) or a domain's "
                         "build_encoder (they record how to rebuild it); register your encoder class with "
                         "register_encoder")
    wrapper = PretrainedEncoder(spec["name"], spec["kwargs"])
    wrapper.encoder.load_state_dict(encoder.state_dict())
    directory = Path(directory)
    wrapper.save_pretrained(directory)
    return directory


def load_pretrained(directory: str | Path, *, revision: str | None = None) -> nn.Module:
    """The encoder saved in ``directory`` by :func:`save_pretrained`, weights loaded strictly, in eval mode: a
    folder whose tensors do not match the encoder its ``config.json`` names is refused, the missing and unexpected
    names listed (never a half-random encoder). ``directory`` may be a Hub repo id (``user/name``, not an existing
    local path): its ``config.json`` and ``model.safetensors`` are downloaded (cached) by huggingface_hub first."""
    if not Path(directory).expanduser().exists() and REPO_ID.match(str(directory)):
        directory = download(str(directory), revision=revision)
    directory = Path(directory).expanduser()
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


def download(repo_id: str, revision: str | None = None) -> Path:
    """The local snapshot of Hub repo ``repo_id`` (config, weights and card only; no code is fetched or run)."""
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id, revision=revision, allow_patterns=HUB_FILES))
    except Exception as err:  # offline, unknown repo, no access: one line
        raise OSError(f"{repo_id}: not a local folder and not downloadable from the Hugging Face Hub "
                      f"({type(err).__name__}: {err})") from None


def push_to_hub(folder: str | Path, repo_id: str, *, private: bool = False) -> str:
    """Upload an exported ``hf`` folder to Hub repo ``repo_id`` (created if needed); returns the repo's URL."""
    from huggingface_hub import HfApi

    api = HfApi()
    url = api.create_repo(repo_id, private=private, exist_ok=True)
    api.upload_folder(folder_path=str(folder), repo_id=repo_id, allow_patterns=HUB_FILES,
                      commit_message="selfsup export")
    return str(url)


def _names(keys: list[str]) -> str:
    return ", ".join(keys[:6]) + (f" and {len(keys) - 6} more" if len(keys) > 6 else "")
