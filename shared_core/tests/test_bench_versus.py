"""Did SSL help? Seeds merged into mean ± std, the column against the best baseline, the estimates of bench all."""

from __future__ import annotations

import json

import pytest

from selfsup.core.bench import timings
from selfsup.core.bench.all_suites import main as bench_all
from selfsup.core.bench.versus import VERSUS, markdown_table, merge_seeds, versus_best_baseline


def _runs():
    seeds = [(0.90, 0.80, 0.85), (0.92, 0.84, 0.86), (0.94, 0.82, 0.90)]  # (ssl, raw, random init) per seed
    return [[{"method": "raw (baseline)", "encoder": "none", "acc": raw, "wall_s": 1.0},
             {"method": "random init (baseline)", "encoder": "mlp", "acc": rnd, "wall_s": 2.0},
             {"method": "simclr", "encoder": "mlp", "acc": ssl, "wall_s": 3.0 + i}]
            for i, (ssl, raw, rnd) in enumerate(seeds)]


def test_seeds_merge_into_mean_std_and_values():
    rows = merge_seeds(_runs(), ["acc"])
    assert [r["method"] for r in rows] == ["raw (baseline)", "random init (baseline)", "simclr"]
    ssl = rows[2]
    assert ssl["acc"] == pytest.approx(0.92) and ssl["acc_std"] == pytest.approx(0.02)
    assert ssl["acc_per_seed"] == [0.90, 0.92, 0.94] and ssl["seeds"] == 3 and ssl["wall_s"] == pytest.approx(4.0)


def test_versus_best_baseline_pairs_the_seeds():
    rows = merge_seeds(_runs(), ["acc"])
    top = versus_best_baseline(rows, "acc")
    assert rows[1][VERSUS] == "best baseline" and rows[0][VERSUS] == "-"  # random init (0.87) beats raw (0.82)
    # per-seed differences 0.05, 0.06, 0.04: mean 0.05, sample std 0.01
    assert rows[2][VERSUS] == "+0.0500 ± 0.0100"
    assert top["ssl"] == "simclr / mlp" and top["baseline"] == "random init (baseline) / mlp"
    assert top["difference"] == pytest.approx(0.05) and top["spread"] == pytest.approx(0.01)
    table = markdown_table(rows, ["method", "acc", VERSUS])
    assert table[0] == "| method | acc | vs best baseline |" and "0.9200 ± 0.0200" in table[-1]


def test_lower_is_better_and_no_baseline():
    rows = [{"method": "a (baseline)", "loss": 2.0}, {"method": "b", "loss": 1.0}]
    assert versus_best_baseline(rows, "loss", higher_is_better=False)["difference"] == pytest.approx(-1.0)
    assert versus_best_baseline([{"method": "b", "loss": 1.0}], "loss") is None


def test_timings_estimate_from_this_machine_then_the_release(tmp_path, monkeypatch):
    monkeypatch.setenv("SELFSUP_CACHE", str(tmp_path))
    kind = timings.machine_kind()
    reference = tmp_path / "reference.json"
    reference.write_text(json.dumps({kind: {"core/default": {"seconds": 75.0, "date": "2026-12-07"}}}))
    monkeypatch.setattr(timings, "REFERENCE", reference)
    assert "1 min 15 s when measured for the release" in timings.estimate(timings.load(), "core", "default")
    assert "no earlier run" in timings.estimate(timings.load(), "vision", "default")
    timings.record("core", "default", 42.0)
    assert timings.estimate(timings.load(), "core", "default").startswith("last time on this machine: 42 s")
    assert timings.describe("core", "default").startswith("preset default: simclr")


def test_bench_all_prints_the_plan_and_ends_with_the_summary(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SELFSUP_CACHE", str(tmp_path / "cache"))
    bench_all(["--preset", "smoke", "--suites", "core", "--output", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert "== [1/1] selfsup bench core" in out and "preset smoke: every method; 1 seed" in out
    summary = out[out.index("== did SSL help?"):]
    assert "| core | probe_acc |" in summary
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## Did SSL help?" in report and "| core | probe_acc |" in report
    again = timings.estimate(timings.load(), "core", "smoke")
    assert again.startswith("last time on this machine")


def test_a_suite_that_runs_its_seeds_inside_counts_them_from_the_per_seed_values():
    rows = [{"method": "random init (baseline)", "public": 0.5, "public_per_seed": [0.4, 0.5, 0.6]},
            {"method": "grace", "public": 0.7, "public_per_seed": [0.6, 0.7, 0.8]}]
    assert versus_best_baseline(rows, "public")["seeds"] == 3
