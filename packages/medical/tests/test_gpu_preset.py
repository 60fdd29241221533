"""The ``gpu`` preset (SwinUNETR and a 3D ViT, bf16) cannot run on a CI machine at its size; here it runs with its
networks and methods unchanged but small volumes (64^3: SwinUNETR's bottleneck must have more than one voxel), one
step each, one label budget, and bf16 autocast forced on as it is on CUDA (on a CPU the suite leaves autocast off),
so a dtype or shape mistake on that path shows up without a GPU."""

from __future__ import annotations

import pytest
import torch

from selfsup.medical import bench

AUTOCAST = torch.autocast


class _ForcedBF16(AUTOCAST):
    """``torch.autocast`` on, in bf16, wherever the suite asks for a bf16 region (``enabled=device.type == "cuda"``: on
    on CUDA); a region that only turns autocast off (no dtype: the fused kernels, which pick their own precision)
    stays off, as it does on CUDA."""

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        super().__init__(device_type, dtype=torch.bfloat16, enabled=enabled or dtype is not None)


@pytest.fixture
def shrunk_gpu_preset(monkeypatch):
    preset = dict(bench.PRESETS["gpu"])
    assert preset["cnn"][0] == "swin_unetr" and preset["vit"][0] == "vit3d_small"
    preset.update(subjects=3, test=1, size=64, crop=64, seeds=1, pretrain_steps={"cnn": 1, "vit": 1},
                  batch_size=2, finetune_steps={"cnn": 1, "vit": 1}, labels=(1,), frozen_labels=1,
                  cnn=("swin_unetr", {"feature_size": 12}), vit=("vit3d_small", {"volume_size": 64, "patch_size": 16}))
    monkeypatch.setitem(bench.PRESETS, "gpu", preset)
    monkeypatch.setattr(torch, "autocast", _ForcedBF16)
    return preset


def test_the_gpu_presets_methods_pretrain_and_fine_tune_under_bf16_autocast(shrunk_gpu_preset, tmp_path):
    rows = bench.main(["--preset", "gpu", "--methods", "swin_ssl,models_genesis,mae3d", "--output", str(tmp_path),
                       "--quiet", "--no-baselines"])
    assert [r["method"] for r in rows] == ["swin_ssl", "models_genesis", "mae3d"]
    assert [r["encoder"] for r in rows] == ["swin_unetr"] * 2 + ["vit3d_small"]
    for row in rows:
        assert row["steps"] == 1 and abs(row["final_loss"]) < float("inf")
        assert 0 <= row["frozen_dice"] <= 1 and 0 <= row["dice_1"] <= 1, row


def test_voco_takes_a_bf16_step_on_the_gpu_presets_swin_unetr(shrunk_gpu_preset):
    """VoCo needs a grid of base crops (2^3 here, as at the preset's 192^3 / 96^3); its evaluation is the other
    SwinUNETR methods'."""
    from selfsup.medical.build import build_method

    preset = {**shrunk_gpu_preset, "size": 128}
    torch.manual_seed(0)
    method = build_method("voco", bench.make_encoder("cnn", preset)[0], **bench.method_kwargs("voco", preset))
    assert method.grid == 2 and method.num_random == 4
    with torch.autocast("cpu"):
        out = method(torch.rand(bench.pretrain_batch_size(bench.PRESETS["gpu"], "voco"), 1, 128, 128, 128))
    out["loss"].backward()
    assert torch.isfinite(out["loss"]) and out["loss"] > 0
    grads = [p.grad for p in method.encoder.encoder_parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


def test_voco_pretrains_on_one_volume_a_step_on_the_gpu_preset():
    """4 volumes would be 48 crops of 96^3 through SwinUNETR in one step (~140 GB); the others keep 4."""
    preset = bench.PRESETS["gpu"]
    assert bench.pretrain_batch_size(preset, "voco") == 1
    assert bench.pretrain_batch_size(preset, "swin_ssl") == bench.pretrain_batch_size(preset, "mae3d") == 4
    assert bench.pretrain_batch_size(bench.PRESETS["default"], "voco") == 4
