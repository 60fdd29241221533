"""``selfsup --help`` and ``selfsup list`` register every installed domain without importing the domains' libraries,
and the names the plugins register without importing agree with the tables they stand for."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

HEAVY = ("torch_geometric", "monai", "transformers", "torchvision", "torchaudio", "pandas", "matplotlib")


@pytest.mark.parametrize("command", [["--help"], ["list"]])
def test_start_up_imports_no_domain_library(command):
    code = ("import sys; from selfsup.core.cli import main\n"
            f"try:\n    main({command!r})\nexcept SystemExit:\n    pass\n"
            f"print('LOADED', sorted(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True).stdout
    assert out.strip().splitlines()[-1] == "LOADED []"
    if command == ["list"]:
        for name in ("resnet18", "audio_vit_mini_patch", "gnn_node", "tabular_mlp", "swin_unetr", "vision_simclr"):
            assert f"  {name} " in out


@pytest.mark.parametrize("domain", ["vision", "audio", "graph", "tabular", "medical"])
def test_lazily_registered_names_match_the_build_tables(domain):
    from selfsup.core.registry import resolve_entries

    plugin = importlib.import_module(f"selfsup.{domain}.plugin")
    if hasattr(plugin, "ENCODER_NAMES"):
        assert list(plugin.ENCODER_NAMES) == resolve_entries(f"selfsup.{domain}.build:ENCODERS")
    assert list(plugin.METHOD_NAMES) == resolve_entries(f"selfsup.{domain}.build:METHODS")


def test_a_lazily_registered_encoder_builds_and_names_its_domain():
    from selfsup.core import registry
    from selfsup.core.export.base import domain_of

    encoder = registry.create_encoder("resnet_mini", image_size=16)
    assert type(encoder).__name__ == "ResNetEncoder" and domain_of(encoder) == "vision"
    table_encoder = registry.create_encoder("tabular_mlp", num_numeric=3, cardinalities=[4])
    assert table_encoder.selfsup_spec["name"] == "tabular_mlp"
