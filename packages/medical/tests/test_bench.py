import json

from selfsup.medical.bench import main


def test_smoke_suite_writes_rows_with_baselines(tmp_path):
    rows = main(["--preset", "smoke", "--methods", "voco,mae3d", "--output", str(tmp_path), "--quiet"])
    methods = [r["method"] for r in rows]
    assert methods == ["intensity histogram (baseline)", "random init / from scratch (baseline)",
                       "random init / from scratch (baseline)", "voco", "mae3d"]
    assert [r["encoder"] for r in rows[1:3]] == ["unet3d_tiny", "vit3d_mini"]
    for row in rows[1:]:
        assert 0 <= row["frozen_dice"] <= 1 and 0 <= row["dice_1"] <= 1 and row["fraction_r2"] <= 1
        per_class = [row[f"dice_1_{c}"] for c in ("CSF", "GM", "WM")]  # each class's Dice, not only the mean
        assert all(0 <= d <= 1 for d in per_class) and min(per_class) <= row["dice_1"] <= max(per_class)
    voco = rows[3]
    assert voco["steps"] == 2 and voco["wall_s"] > 0 and voco["rankme"] >= 1
    assert "synthetic" in voco["data"]
    saved = json.loads((tmp_path / "results.json").read_text())
    assert len(saved["rows"]) == len(rows)
    assert (tmp_path / "results.md").read_text().count("\n| ") == len(rows) + 1
    assert (tmp_path / "results.png").stat().st_size > 0


def test_plugin_registers_the_suite():
    from selfsup.core import registry

    assert "medical_voco" in registry.available("method") and "medical" in registry.available("bench")
    assert not {"mni_pseudo_subjects", "nifti_folder", "decathlon"} & set(registry.available("dataset"))  # loaders
    assert "swin_unetr" in registry.available("encoder")


def test_loading_the_plugin_does_not_import_monai():
    """MONAI's import takes tens of seconds: every ``selfsup`` command loads the plugins, so they stay light."""
    import subprocess
    import sys

    code = ("import sys; from selfsup.core import registry; registry.load_plugins(); "
            "assert 'medical_voco' in registry.available('method'); assert 'monai' not in sys.modules, 'monai'")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr


def test_a_method_can_override_its_familys_pretraining_steps():
    from selfsup.medical.bench import pretrain_steps

    preset = {"pretrain_steps": {"cnn": 150, "vit": 1000, "swin_ssl": 600}}
    assert pretrain_steps(preset, "swin_ssl") == 600
    assert pretrain_steps(preset, "voco") == pretrain_steps(preset, "models_genesis") == 150
    assert pretrain_steps(preset, "mae3d") == 1000


def test_plot_shows_the_dice_columns_beside_the_histogram_row(tmp_path, monkeypatch):
    """The intensity histogram has only an R²: the chart drops that row, not the other rows' Dice columns."""
    from selfsup.medical import bench

    drawn = {}
    monkeypatch.setattr(bench, "bar_chart", lambda rows, series, **kw: drawn.update(rows=rows, series=series))
    common = {"encoder": "e", "data": "d", "steps": 0}
    rows = [{"method": "intensity histogram (baseline)", **common, "fraction_r2": 0.9, "fraction_r2_std": 0.0},
            *({"method": m, **common, **{k: v for key in ("fraction_r2", "frozen_dice", "dice_1")
                                          for k, v in ((key, 0.5), (f"{key}_std", 0.1))}} for m in ("a", "b"))]
    meta = {"preset": "smoke", "device": "cpu", "seeds": [0], "frozen_labels": 1, "labels": [1],
            "finetune_steps": {"cnn": 2}, "family_encoders": {"cnn": "e"}}
    bench.write_outputs(rows, meta, tmp_path)
    assert [r["method"] for r in drawn["rows"]] == ["a", "b"]
    assert [k for k, _ in drawn["series"]] == ["fraction_r2", "frozen_dice", "dice_1"]


def test_the_spread_over_seeds_is_the_sample_std_as_in_every_suite():
    from selfsup.medical.bench import _summarise

    row = _summarise([{"frozen_dice": d, "final_loss": None} for d in (0.40, 0.42, 0.44)])
    assert row["frozen_dice"] == 0.42 and row["frozen_dice_std"] == 0.02  # n - 1; population: 0.0163
    assert row["frozen_dice_per_seed"] == [0.4, 0.42, 0.44] and "final_loss" not in row
