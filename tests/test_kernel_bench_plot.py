"""The kernel benchmark's plot: rows grouped by loss and fixed dimensions, failed rows left out, a PNG written."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "kernels" / "plot_kernels.py"


def _plot_kernels():
    spec = importlib.util.spec_from_file_location("plot_kernels", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _gpu_row(shape, variant, ms, peak, kind="symmetric InfoNCE"):
    return {"kind": kind, "shape": shape, "variant": variant, "ms": ms, "peak_mib": peak}


GPU_RESULT = {"device": "NVIDIA H100", "rows": [
    _gpu_row("N=4096 D=256", "selfsup triton", 2.2, 20.1),
    _gpu_row("N=32768 D=256", "selfsup triton", 7.8, 160.9),
    _gpu_row("N=4096 D=256", "eager", 1.4, 256.1),
    _gpu_row("N=32768 D=256", "eager", 57.3, 16384.5),
    _gpu_row("N=65536 D=256", "lightly NTXentLoss", None, "OOM"),  # ran out of memory: no point
    _gpu_row("N=4096 D=256", "lightly NTXentLoss", 14.9, 1012.0),
    _gpu_row("N=32768 D=512", "selfsup triton", 27.0, 320.9),  # one size only at D=512: no panel
    _gpu_row("S=16384 H=256 V=8192", "selfsup triton", 3.3, 24.2, kind="prototype head, soft (DINO/iBOT)"),
]}


def test_series_groups_by_loss_and_fixed_dimensions():
    groups = _plot_kernels().series(GPU_RESULT)
    assert list(groups) == [("symmetric InfoNCE", "N", "D=256")]
    by_variant = groups["symmetric InfoNCE", "N", "D=256"]
    assert by_variant["selfsup triton"] == [(4096, 2.2, 20.1), (32768, 7.8, 160.9)]
    assert by_variant["eager"] == [(4096, 1.4, 256.1), (32768, 57.3, 16384.5)]
    assert by_variant["lightly NTXentLoss"] == [(4096, 14.9, 1012.0)]


def test_series_reads_cpu_rows_and_skips_errors():
    rows = [{"kind": "SimCLR NT-Xent (2N form)", "shape": f"N={n} D=128", "variant": "chunked", "median_s": t,
             "peak_rss_mib": m} for n, t, m in ((4096, 0.2, 38.6), (1024, 0.02, 24.6))]
    rows.append({"kind": "SimCLR NT-Xent (2N form)", "shape": "N=16384 D=128", "variant": "chunked",
                 "error": "MemoryError"})
    groups = _plot_kernels().series({"device": "cpu", "rows": rows})
    assert groups == {("SimCLR NT-Xent (2N form)", "N", "D=128"): {"chunked": [(1024, 0.02, 24.6),
                                                                               (4096, 0.2, 38.6)]}}


def test_plot_writes_a_png_and_nothing_without_two_sizes(tmp_path):
    plot_kernels = _plot_kernels()
    path = plot_kernels.plot(GPU_RESULT, tmp_path / "kernels.png")
    assert path == tmp_path / "kernels.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    single = {"device": "cpu", "rows": [{"kind": "k", "shape": "N=8 D=4", "variant": "v", "median_s": 1.0,
                                         "peak_rss_mib": 1.0}]}
    assert plot_kernels.plot(single, tmp_path / "none.png") is None
    assert not (tmp_path / "none.png").exists()
