"""Every Triton kernel the contrastive losses launch compiles for an H100 (sm_90) and fits one there.

The interpreter (what the kernel tests run on CPU) accepts code the compiler rejects and knows nothing of shared
memory or registers, and a GPU is rarely at hand: ``benchmarks/kernels/sm90_static.py`` compiles the kernels with
Triton's own ``ptxas`` on this machine. Checked at the configuration a launch takes without autotuning (the first of
the ``wide`` ones from D=512 on, D=256 for the prototype head): it compiles and fits the 227 KiB of shared memory of
an sm_90 block, and the row and head kernels spill no registers. With fp16 operands the backward kernels that
rescale their weights (``RESCALED``) compile and fit too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

triton = pytest.importorskip("triton")

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "kernels" / "sm90_static.py"
PTXAS = Path(triton.__file__).parent / "backends" / "nvidia" / "bin" / "ptxas"
COLUMNS = ["launch", "kernel", "flags", "blocks", "warps", "stages", "regs", "spills", "shared", "per_sm", "ex2",
           "hgmma", "hmma", "consumers"]


def _compile(*options: str, configs: tuple[str, ...] = ("--default-only",)) -> list[dict]:
    """The script's table, one dict per row, for ``options`` at ``configs`` (the default configurations)."""
    if not PTXAS.exists():
        pytest.skip("this triton has no ptxas")
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    out = subprocess.run([sys.executable, str(SCRIPT), *options, *configs, "--workers", "2"],
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = [line.strip("|").split("|") for line in out.stdout.splitlines()
            if line.startswith("| ") and "---" not in line]
    return [dict(zip(COLUMNS, (cell.strip() for cell in row), strict=True)) for row in rows[1:]]


@pytest.fixture(scope="module")
def compiled() -> list[dict]:
    return _compile("--dims", "256", "512")


def test_every_prototype_head_kernel_fits_at_the_widest_hidden_dim(compiled):
    head = [r for r in compiled if r["launch"].startswith("prototype head")]
    assert {r["kernel"] for r in head} == {"_soft_ce_fwd_kernel", "_soft_ce_bwd_rows_kernel",
                                           "_soft_ce_bwd_protos_kernel"}
    for row in head:
        assert "BLOCK_D=256" in row["flags"] and "too much" not in row["shared"], row
        assert row["spills"] == "0" and int(row["hgmma"]) > 0, row


def test_fp16_backward_kernels_rescale_and_compile_for_sm90():
    rows = _compile("--dims", "256", "--dtype", "float16")
    backward = [r for r in rows if "backward" in r["launch"]]
    assert {r["kernel"] for r in backward} == {"_lse_bwd_kernel"}
    head_backward = [r for r in rows if r["kernel"].startswith("_soft_ce_bwd")]
    for row in backward + head_backward:
        assert "RESCALED" in row["flags"] and "too much" not in row["shared"], row


def test_every_row_kernel_launch_fits_and_does_not_spill(compiled):
    launched = {r["launch"] for r in compiled}
    assert {"InfoNCE forward", "InfoNCE backward", "2N form forward", "2N form backward"} <= launched
    for row in compiled:
        if row["launch"].startswith(("InfoNCE", "2N form")):
            assert row["kernel"] in ("_lse_fwd_kernel", "_lse_bwd_kernel"), row
            assert "too much" not in row["shared"] and row["spills"] == "0", row
            assert int(row["hgmma"]) + int(row["hmma"]) > 0, row
