"""The ``gpu`` preset (SwinUNETR and a 3D ViT-S, bf16 autocast on CUDA) cannot run at its size on a CI machine, and a
CPU without native bf16 (no AVX-512 BF16, no AMX) emulates bf16 convolutions and matrix products hundreds of times
slower than fp32: one SwinUNETR step on two 64^3 volumes took 78 s there, the earlier version of these tests over
30 minutes. So the preset is checked in two parts, each in seconds on any CPU:

- its pipeline (networks and methods built from the preset, pretraining, frozen probes, fine-tuning, sliding-window
  Dice, through ``bench.main``) in fp32 for one method of each network, the networks unchanged but on the smallest
  volumes SwinUNETR trains on (64^3), one step each (the pipeline does not depend on the method: VoCo runs it on
  the smoke preset in ``test_bench.py``);
- its bf16 path with autocast forced on as it is on CUDA, on tiny tensors: a training step of each method on 32^3
  crops with the preset's networks, and SwinUNETR's dense path (Models Genesis' restorer, the segmenter that
  fine-tuning trains) on 32 x 32 x 64, the smallest volume whose bottleneck has more than the one voxel that
  InstanceNorm refuses in training; fine-tuning and sliding-window Dice under bf16 on the smoke preset's U-Net.

The preset's real sizes belong to the GPU benchmark."""

from __future__ import annotations

import pytest
import torch

from selfsup.medical import bench
from selfsup.medical.build import build_method
from selfsup.medical.datasets import VolumeSet
from selfsup.medical.finetune import few_label_dice
from selfsup.medical.methods import models_genesis

AUTOCAST = torch.autocast


class _ForcedBF16(AUTOCAST):
    """``torch.autocast`` on, in bf16, wherever the suite asks for a bf16 region (``enabled=device.type == "cuda"``: on
    on CUDA); a region that only turns autocast off (no dtype: the fused kernels, which pick their own precision)
    stays off, as it does on CUDA."""

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        super().__init__(device_type, dtype=torch.bfloat16, enabled=enabled or dtype is not None)


@pytest.fixture
def forced_bf16(monkeypatch):
    monkeypatch.setattr(torch, "autocast", _ForcedBF16)


@pytest.fixture
def small_gpu_preset(monkeypatch) -> dict:
    """The gpu preset with its network families unchanged (SwinUNETR at its smallest width, the ViT-S at its depth
    and width) on 64^3 volumes, one step of everything, one volume a batch."""
    preset = dict(bench.PRESETS["gpu"])
    assert preset["cnn"][0] == "swin_unetr" and preset["vit"][0] == "vit3d_small"
    preset.update(subjects=3, test=1, size=64, crop=64, seeds=1, pretrain_steps={"cnn": 1, "vit": 1},
                  batch_size=2, finetune_batch=1, finetune_steps={"cnn": 1, "vit": 1}, labels=(1,), frozen_labels=1,
                  cnn=("swin_unetr", {"feature_size": 12}), vit=("vit3d_small", {"volume_size": 64, "patch_size": 16}))
    monkeypatch.setitem(bench.PRESETS, "gpu", preset)
    return preset


def test_the_gpu_presets_methods_pretrain_probe_and_fine_tune_through_the_suite(small_gpu_preset, tmp_path):
    rows = bench.main(["--preset", "gpu", "--methods", "swin_ssl,mae3d", "--output", str(tmp_path), "--quiet",
                       "--no-baselines"])
    assert [(r["method"], r["encoder"]) for r in rows] == [("swin_ssl", "swin_unetr"), ("mae3d", "vit3d_small")]
    for row in rows:
        assert row["steps"] == 1 and abs(row["final_loss"]) < float("inf")
        assert 0 <= row["frozen_dice"] <= 1 and 0 <= row["dice_1"] <= 1, row
    assert (tmp_path / "results.md").is_file() and (tmp_path / "results.png").is_file()


def _bf16_step(method: torch.nn.Module, volumes: torch.Tensor) -> dict[str, torch.Tensor]:
    """One forward (under the forced autocast) and backward; the loss and every gradient must be finite fp32."""
    with torch.autocast("cpu"):
        out = method(volumes)
    out["loss"].backward()
    assert out["loss"].dtype == torch.float32 and torch.isfinite(out["loss"]), out
    grads = [p.grad for p in method.parameters() if p.grad is not None]
    assert grads and all(g.dtype == torch.float32 and torch.isfinite(g).all() for g in grads)
    return out


@pytest.mark.parametrize("method_name", ["swin_ssl", "voco", "mae3d"])
def test_each_gpu_preset_method_takes_a_bf16_step_on_32_cubed_crops(method_name, small_gpu_preset, forced_bf16):
    """VoCo keeps the preset's grid of 2^3 base crops and its random crops (``voco_random``), at 32^3 each."""
    preset = {**small_gpu_preset, "crop": 32, "vit": ("vit3d_small", {"volume_size": 32, "patch_size": 16})}
    torch.manual_seed(0)
    encoder = bench.make_encoder(bench.METHOD_FAMILY[method_name], preset)[0]
    method = build_method(method_name, encoder, **bench.method_kwargs(method_name, preset))
    if method_name == "voco":
        assert method.grid == 2 and method.num_random == bench.PRESETS["gpu"]["voco_random"] == 4
    with torch.autocast("cpu"):  # the networks do compute in bf16 here
        assert encoder(torch.rand(1, 1, 32, 32, 32)).dtype == torch.bfloat16
    _bf16_step(method, torch.rand(1, 1, 64, 64, 64) if method_name == "voco" else torch.rand(2, 1, 32, 32, 32))


def test_swin_unetrs_dense_path_takes_a_bf16_step_as_models_genesis_restorer(small_gpu_preset, forced_bf16,
                                                                                monkeypatch):
    """Models Genesis restores its whole crop through SwinUNETR's decoder; here the crop is the whole 32 x 32 x 64
    volume (the method's own crops are cubes, and a 32^3 one leaves SwinUNETR a one-voxel bottleneck)."""
    monkeypatch.setattr(models_genesis, "random_crop", lambda volumes, size: volumes)
    torch.manual_seed(0)
    method = build_method("models_genesis", bench.make_encoder("cnn", small_gpu_preset)[0], crop=32)
    volumes = torch.rand(1, 1, 32, 32, 64)
    with torch.autocast("cpu"):
        assert method.restorer(volumes).dtype == torch.bfloat16
    _bf16_step(method, volumes)


def test_fine_tuning_and_sliding_window_dice_run_under_bf16(forced_bf16):
    """The preset's fine-tuning and Dice regions (bf16 on CUDA), on the smoke preset's U-Net and two 32 x 32 x 48
    volumes (two overlapping 32^3 windows blended)."""
    torch.manual_seed(0)
    images = torch.rand(2, 1, 32, 32, 48)
    labels = (images[:, 0] > 0.5).long() + (images[:, 0] > 0.8).long()
    volumes = VolumeSet(images, labels, name="noise", class_names=("bright", "brightest"))
    encoder = bench.make_encoder("cnn", bench.PRESETS["smoke"])[0]
    scores = few_label_dice(encoder, volumes.subset([0]), volumes.subset([1]), 1, freeze_encoder=False, seed=0,
                            steps=1, batch_size=1, crop=32, overlap=0.5)
    assert 0 <= scores["dice"] <= 1 and set(scores["dice_per_class"]) == {"bright", "brightest", "mean"}
