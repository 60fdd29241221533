"""The suite end to end on the embedded digits (smoke preset), through the CLI's registry."""

import json

import pytest

from selfsup.core import registry


def test_smoke_suite_writes_rows_with_baselines(tmp_path):
    bench = registry.get("bench", "vision")
    rows = bench(["--preset", "smoke", "--methods", "simclr,mae", "--output", str(tmp_path), "--quiet"])
    methods = [r["method"] for r in rows]
    assert methods == ["raw pixels (baseline)", "random init (baseline)", "random init (baseline)", "simclr", "mae"]
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["rows"] == rows and saved["meta"]["preset"] == "smoke"
    for row in rows:
        assert 0.0 <= row["knn_acc"] <= 1.0 and 0.0 <= row["probe_acc"] <= 1.0 and row["rankme"] >= 1.0
    trained = rows[-2]
    assert trained["epochs"] == 1 and trained["images_per_s"] > 0 and trained["peak_memory_mib"] > 0
    assert trained["knn_acc"] > 0.3  # ten classes: well above chance after one epoch
    assert "| simclr | resnet_mini |" in (tmp_path / "results.md").read_text()
    assert (tmp_path / "results.png").stat().st_size > 1000


def test_bad_arguments_are_reported(tmp_path):
    bench = registry.get("bench", "vision")
    with pytest.raises(ValueError, match="unknown methods"):
        bench(["--preset", "smoke", "--methods", "simclr,moco", "--output", str(tmp_path)])
    with pytest.raises(SystemExit):
        bench(["--data-root", str(tmp_path / "missing")])
    with pytest.raises(FileNotFoundError, match=r"cifar10_jpeg\.npz"):
        bench(["--preset", "smoke", "--data-root", str(tmp_path), "--output", str(tmp_path / "out")])


def test_knn_curve_records_every_epoch_and_ends_at_the_row(tmp_path):
    bench = registry.get("bench", "vision")
    rows = bench(["--preset", "smoke", "--methods", "simclr", "--epochs", "2", "--knn-every", "1", "--no-baselines",
                  "--output", str(tmp_path), "--quiet"])
    curve = rows[0]["knn_curve"]
    assert [p["epoch"] for p in curve] == [1.0, 2.0]
    assert curve[-1]["knn_acc"] == rows[0]["knn_acc"]  # the hook leaves the encoder as training left it


def test_per_method_epochs_of_a_preset():
    from argparse import Namespace
    from pathlib import Path

    from selfsup.vision.bench import PRESETS, preset_epochs

    on_data = Namespace(epochs=None, data_root=Path("data"))
    assert preset_epochs("byol", PRESETS["full"], on_data) == PRESETS["full"]["method_epochs"]["byol"]
    assert preset_epochs("simclr", PRESETS["full"], on_data) == PRESETS["full"]["epochs"][0]
    assert preset_epochs("ijepa", PRESETS["full"], on_data) == PRESETS["full"]["epochs"][1]
    assert preset_epochs("byol", PRESETS["full"], Namespace(epochs=None, data_root=None)) == 15
    assert preset_epochs("byol", PRESETS["full"], Namespace(epochs=3, data_root=None)) == 3
