from __future__ import annotations

import pytest
import torch

from selfsup.medical import MAE3D, ModelsGenesis, SwinPretraining, VoCo, build_encoder


def _methods():
    return [("swin_ssl", lambda: SwinPretraining(build_encoder("unet3d_tiny")), 48),
            ("swin_ssl on ViT", lambda: SwinPretraining(build_encoder("vit3d_mini", patch_size=8)), 40),
            ("voco", lambda: VoCo(build_encoder("unet3d_tiny"), crop=32, grid=2, num_random=2), 64),
            ("models_genesis", lambda: ModelsGenesis(build_encoder("unet3d_tiny"), shuffle_blocks=20), 40),
            ("mae3d", lambda: MAE3D(build_encoder("vit3d_mini", patch_size=8)), 40)]


@pytest.mark.parametrize("name, make, size", _methods(), ids=[m[0] for m in _methods()])
def test_method_trains_the_encoder(name, make, size):
    torch.manual_seed(0)
    method = make()
    out = method({"image": torch.rand(2, 1, size, size, size)})
    assert torch.isfinite(out["loss"]) and out["loss"].dim() == 0
    out["loss"].backward()
    grads = [p.grad for p in method.encoder.parameters() if p.grad is not None]
    assert grads and sum(float(g.abs().sum()) for g in grads) > 0


def test_swin_recipe_logs_its_three_losses():
    out = SwinPretraining(build_encoder("unet3d_tiny"))({"image": torch.rand(2, 1, 40, 40, 40)})
    assert {"rotation", "contrast", "inpaint"} <= set(out)
    parts = float(out["rotation"] + out["contrast"] + out["inpaint"])
    assert float(out["loss"].detach()) == pytest.approx(parts, rel=1e-5)


def test_methods_reject_bad_input():
    with pytest.raises(ValueError, match=r"needs 64\^3 volumes"):
        VoCo(build_encoder("unet3d_tiny"), crop=32, grid=2)({"image": torch.rand(1, 1, 48, 64, 64)})
    with pytest.raises(TypeError, match="VisionTransformer3D"):
        MAE3D(build_encoder("unet3d_tiny"))
    bad = torch.rand(2, 1, 40, 40, 40)
    bad[0, 0, 1, 1, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        SwinPretraining(build_encoder("unet3d_tiny"))({"image": bad})
