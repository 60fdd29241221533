"""Every script of examples/ runs as written (python examples/NAME.py) and prints what it measured."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[1] / "examples"
NEEDS = {"images": ["selfsup.vision", "onnxruntime"], "audio": ["selfsup.audio", "espeakng_loader", "transformers"],
         "graphs": ["selfsup.graph", "onnxruntime"], "tables": ["selfsup.tabular", "skops"],
         "volumes": ["selfsup.medical", "nilearn"]}


def test_every_example_is_tested():
    assert sorted(p.stem for p in EXAMPLES.glob("[!_]*.py")) == sorted(NEEDS)


@pytest.mark.parametrize("name", sorted(NEEDS))
def test_example_runs_and_reports(name, tmp_path):
    for module in NEEDS[name]:
        pytest.importorskip(module)
    env = {**os.environ, "TMPDIR": str(tmp_path), "SELFSUP_CACHE": os.environ.get("SELFSUP_CACHE", str(tmp_path))}
    done = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py")], capture_output=True, text=True, env=env,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    assert re.search(r"(linear probe|ridge probe).*: .*\d\.\d{3}", last), last
