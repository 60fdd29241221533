"""A run's settings as one flat mapping: read from ``--config`` (YAML or JSON), overridden by the flags given, and
written back as ``config.yaml`` in the run's folder (with the installed packages' versions), which ``--config``
accepts again."""

from __future__ import annotations

import difflib
import json
from importlib.metadata import PackageNotFoundError, distributions, version
from pathlib import Path
from typing import Any

import yaml

from selfsup.core import atomic


def installed_versions() -> dict[str, str]:
    """``{"selfsup-core": "0.2.0", ..., "torch": "2.11.0", "python": "3.11.7"}``: what ran."""
    import platform

    names = sorted({d.metadata["Name"] for d in distributions() if (d.metadata["Name"] or "").startswith("selfsup")})
    out = {name: version(name) for name in names}
    for name in ("torch", "torchvision", "torchaudio"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    out["python"] = platform.python_version()
    return out


def read_config(path: str | Path, known: set[str]) -> dict[str, Any]:
    """The mapping in a YAML or JSON file; a key that is no flag is an error that suggests the closest one
    (``versions``, which ``config.yaml`` records, is ignored)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--config {path}: no such file")
    text = path.read_text(encoding="utf-8")
    try:
        values = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise ValueError(f"--config {path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'} ({err})") from err
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ValueError(f"--config {path}: expected a mapping of flag names to values, got {type(values).__name__}")
    values = {str(k).replace("-", "_"): v for k, v in values.items() if k != "versions"}
    for key in values:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"--config {path}: unknown key {key!r}{hint}")
    return values


class _Dumper(yaml.SafeDumper):
    """Lists of plain values on one line (``mean: [0.49, 0.48, 0.45]``, a fitted table scaler's quantiles)."""

    def represent_list(self, data):
        flow = all(isinstance(v, (int, float, str, bool, type(None))) for v in data)
        return self.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _Dumper.represent_list)


def write_config(path: str | Path, values: dict[str, Any]) -> Path:
    """``config.yaml``: the resolved settings, then ``versions``; written atomically."""
    body = {k: (str(v) if isinstance(v, Path) else v) for k, v in values.items()}
    return atomic.write_text(path, yaml.dump({**body, "versions": installed_versions()}, Dumper=_Dumper,
                                             sort_keys=False))
