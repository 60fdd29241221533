"""Every Triton kernel the contrastive losses launch compiles for an H100 (sm_90) and fits one there.

The interpreter (what the kernel tests run on CPU) accepts code the compiler rejects and knows nothing of shared
memory or registers, and a GPU is rarely at hand: ``benchmarks/kernels/sm90_static.py`` compiles the kernels with
Triton's own ``ptxas`` on this machine. Checked at the configuration a launch takes without autotuning (the first of
the ``wide`` ones from D=512 on, D=256 for the prototype head): it compiles and fits the 227 KiB of shared memory of
an sm_90 block, the row (also storing dS), prologue and head kernels spill no registers, and the direct
exponentials take half the backward's ``MUFU.EX2`` instructions. With fp16 operands the backward kernels that
rescale their weights (``RESCALED``) compile and fit too. The row kernels' one-warpgroup configuration
(``TWO_PER_SM``) holds two programs per multiprocessor. The warp-specialized row kernels (``"rows-ws"``,
``"gemm-ws"``) compile into a producer and two consumer warpgroups, every configuration of theirs fitting.
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
    backward = [r for r in rows if "backward" in r["launch"] and not r["launch"].startswith("prologue")]
    assert {r["kernel"] for r in backward} == {"_lse_bwd_kernel", "_lse_bwd_fused_kernel", "_self_lse_bwd_kernel"}
    head_backward = [r for r in rows if r["kernel"].startswith("_soft_ce_bwd")]
    assert len(head_backward) == 2
    for row in backward + head_backward:
        assert "RESCALED" in row["flags"], row
    for row in rows:
        assert "too much" not in row["shared"] and 0 < int(row["regs"]) <= 255, row


def test_every_contrastive_kernel_compiles_for_sm90_and_fits(compiled):
    contrastive = [r for r in compiled if not r["launch"].startswith("prototype head")]
    launched = {r["launch"] for r in contrastive}
    assert {"InfoNCE forward, rows, direct", "InfoNCE backward, fused", "InfoNCE backward, gemm, direct",
            "2N form backward, symmetric, direct", "prologue forward", "prologue backward"} <= launched
    for dim in ("BLOCK_D=256", "BLOCK_D=512"):
        assert any(dim in r["flags"] for r in contrastive), dim
    for row in contrastive:
        assert "too much" not in row["shared"] and int(row["per_sm"]) >= 1, row
        assert 0 < int(row["regs"]) <= 255, row
        # the row kernels (also storing dS for cuBLAS), the prologue; warp-specialized, the launches adding into the
        # gemm backward's fp32 dQ spill in the epilogue (a consumer's 64 x 256 tile twice)
        accumulating = "ACCUMULATE" in row["flags"] and "WARP_SPECIALIZE" in row["flags"]
        if (", rows" in row["launch"] or ", gemm" in row["launch"] or row["launch"].startswith("prologue")) and (
                not accumulating):
            assert row["spills"] == "0", row


def test_two_programs_of_one_warpgroup_fit_one_multiprocessor():
    """The configuration the row kernels' autotuners try for overlap across programs (``TWO_PER_SM``: 64 x 64, 4
    warps, 2 stages) holds two programs per sm_90 multiprocessor at D=256 (registers and shared memory), with wgmma
    and no spills, in every row kernel: forward with and without column sums, backward with and without dS stores,
    and the 2N form's forward. The 2N form's row backward, whose exclusion takes a few more registers, spills a
    handful of values there (the autotuner weighs it against the usual configurations)."""
    rows = _compile("--dims", "256", configs=("--config", "64", "64", "4", "2"))
    assert {r["launch"] for r in rows} >= {"InfoNCE forward, rows, direct", "InfoNCE forward, one pass, direct",
                                           "InfoNCE backward, rows, direct", "InfoNCE backward, gemm, direct",
                                           "2N form forward, symmetric, direct", "2N form backward, rows"}
    for row in rows:
        assert (row["blocks"], row["warps"], row["stages"]) == ("64 x 64", "4", "2"), row
        assert row["per_sm"] == "2" and int(row["hgmma"]) > 0, row
        spilled = row["launch"].startswith("2N form backward, rows")
        assert int(row["spills"]) <= 4 if spilled else row["spills"] == "0", row
    assert not any(r["kernel"] in ("_lse_bwd_fused_kernel", "_self_lse_bwd_kernel") for r in rows)


def test_direct_exponentials_halve_the_backward_exponentials(compiled):
    def ex2(launch):
        return next(int(r["ex2"]) for r in compiled if r["launch"] == launch and "BLOCK_D=256" in r["flags"])

    assert ex2("InfoNCE backward, rows, direct") * 2 == ex2("InfoNCE backward, rows") > 0
    assert ex2("InfoNCE forward, rows, direct") < ex2("InfoNCE forward, rows")


def test_warp_specialized_row_kernels_split_into_three_warpgroups():
    """Every configuration of the warp-specialized row kernels at D=256 (forward, also with the 2N form's excluded
    diagonal, backward, and storing dS for the gemm backward, the launch adding into dQ too) compiles into a producer
    and two consumer warpgroups: 12 warps launched for the 4 asked, one program per multiprocessor within an sm_90
    block's shared memory, wgmma, the two consumers each with their own rows (at 64-row blocks they would both take
    the same: not in the lists), no spills but in the epilogue of the launches adding into the fp32 dQ."""
    from selfsup.core.kernels import _triton_lse as T

    rows = _compile("--dims", "256", "--launch", "warp-specialized", configs=())
    assert all("WARP_SPECIALIZE" in r["flags"] for r in rows)
    assert {r["launch"] for r in rows} == {f"{stage}, warp-specialized{direct}" for direct in ("", ", direct")
                                           for stage in ("InfoNCE forward, rows", "InfoNCE backward, rows",
                                                         "InfoNCE backward, gemm", "2N form forward, rows")}
    assert any("HAS_EXCL" in r["flags"] for r in rows)  # the 2N form's diagonal, through a descriptor
    expected = {"_lse_fwd_kernel": T.WARP_SPECIALIZED_FORWARD, "_lse_bwd_kernel": T.WARP_SPECIALIZED_BACKWARD}
    for row in rows:
        configs = T.WARP_SPECIALIZED_STORE_DS if "STORE_DS" in row["flags"] else expected[row["kernel"]]
        m, n = (int(x) for x in row["blocks"].split(" x "))
        assert (m, n, 4, int(row["stages"])) in configs and row["warps"] == "4 (12 launched)", row
        assert "too much" not in row["shared"] and row["per_sm"] == "1" and int(row["hgmma"]) > 0, row
        assert row["consumers"] == "2, split", row  # each consumer its own half of the rows
        assert row["spills"] == "0" or "ACCUMULATE" in row["flags"], row
    for kernel, configs in [*expected.items(), ("STORE_DS", T.WARP_SPECIALIZED_STORE_DS)]:
        compiled = {r["blocks"] + r["stages"] for r in rows
                    if (kernel in r["flags"] if kernel == "STORE_DS" else
                        r["kernel"] == kernel and "STORE_DS" not in r["flags"])}
        assert compiled == {f"{m} x {n}{st}" for m, n, _, st in configs}, kernel
