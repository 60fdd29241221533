"""Image encoders exported for torchvision, timm and ONNX Runtime, each loaded back the way those libraries' users
load weights and compared with the selfsup encoder on a random batch (max |difference| <= 1e-4)."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from selfsup.core import cli
from selfsup.core.export import NotExportable, export_encoder
from selfsup.core.hub import load_pretrained, save_pretrained
from selfsup.vision.build import build_encoder

timm = pytest.importorskip("timm")


def _trained(name: str, **kwargs) -> nn.Module:
    """``build_encoder`` (not ``create_encoder``: both must export) with weights and BatchNorm statistics moved off
    their initial values."""
    torch.manual_seed(0)
    encoder = build_encoder(name, **kwargs)
    with torch.no_grad():
        for p in encoder.parameters():
            p.add_(0.02 * torch.randn_like(p))
        for m in encoder.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    return encoder.eval()


def test_a_resnet_loads_into_torchvision_strictly_with_equal_features(tmp_path):
    encoder = _trained("resnet18", image_size=64, cifar_stem=False)
    (done,) = export_encoder(encoder, ["torchvision"], tmp_path / "r18.pt")
    model = torchvision.models.resnet18()
    model.fc = nn.Identity()
    model.load_state_dict(torch.load(tmp_path / "r18.pt", weights_only=True))  # strict
    x = torch.randn(3, 3, 64, 64)
    torch.testing.assert_close(model.eval()(x), encoder(x), rtol=0, atol=1e-4)
    assert done.max_abs_diff <= 1e-4 and "torchvision.models.resnet18()" in done.snippet
    assert set(torch.load(tmp_path / "r18.pt", weights_only=True)) == set(model.state_dict())  # no fc written


def test_the_cifar_stem_goes_to_torchvision_with_its_conv1_and_is_refused_by_timm(tmp_path):
    encoder = _trained("resnet18", image_size=32)
    (done,) = export_encoder(encoder, ["torchvision"], tmp_path / "r18.pt")
    assert "torch.nn.Conv2d(3, 64, 3, 1, 1, bias=False)" in done.snippet and "maxpool" in done.snippet
    model = torchvision.models.resnet18()
    model.conv1, model.maxpool, model.fc = nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.Identity(), nn.Identity()
    model.load_state_dict(torch.load(tmp_path / "r18.pt", weights_only=True))
    x = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(model.eval()(x), encoder(x), rtol=0, atol=1e-4)
    with pytest.raises(NotExportable, match="CIFAR stem"):
        export_encoder(encoder, ["timm"], tmp_path / "r18.safetensors")
    with pytest.raises(NotExportable, match="resnet18, resnet34, resnet50"):
        export_encoder(_trained("resnet_mini"), ["torchvision"], tmp_path / "mini.pt")


@pytest.mark.parametrize(("name", "kwargs", "timm_name"), [
    ("resnet18", {"image_size": 64, "cifar_stem": False}, "resnet18"),
    ("vit_tiny_patch16", {"image_size": 64}, "vit_tiny_patch16_224"),
    ("vit_small_patch4", {}, "vit_tiny_patch16_224"),
    ("vit_mini_patch4", {"pool": "mean"}, "vit_tiny_patch16_224"),
])
def test_timm_create_model_loads_the_export_with_equal_features(tmp_path, name, kwargs, timm_name):
    encoder = _trained(name, **kwargs)
    (done,) = export_encoder(encoder, ["timm"], tmp_path / "w.safetensors")
    assert f'timm.create_model("{timm_name}", pretrained=True' in done.snippet
    extra = {}
    if name.startswith("vit"):
        t = encoder.tokenizer
        extra = {"img_size": t.image_size, "patch_size": t.patch_size, "embed_dim": t.dim,
                 "depth": len(encoder.trunk.blocks), "num_heads": encoder.trunk.config.heads}
        if kwargs.get("pool") == "mean":
            extra.update(global_pool="avg", fc_norm=False)
    model = timm.create_model(timm_name, pretrained=True, num_classes=0,
                              pretrained_cfg_overlay={"file": str(tmp_path / "w.safetensors")}, **extra)
    size = encoder.tokenizer.image_size if name.startswith("vit") else 64
    x = torch.randn(2, 3, size, size)
    torch.testing.assert_close(model.eval()(x), encoder(x), rtol=0, atol=1e-4)


def test_onnx_and_hf_take_every_image_encoder_and_build_encoder_saves(tmp_path):
    pytest.importorskip("onnxruntime")
    for name in ("resnet_mini", "vit_mini_patch4"):
        encoder = _trained(name)
        save_pretrained(encoder, tmp_path / name / "saved")  # built by build_encoder, not create_encoder
        done = export_encoder(load_pretrained(tmp_path / name / "saved"), ["onnx", "hf"], tmp_path / name / "out")
        assert [d.format for d in done] == ["onnx", "hf"] and all(d.max_abs_diff <= 1e-4 for d in done)


def test_pretrain_exports_at_the_end_of_the_run(tmp_path, capsys):
    from PIL import Image

    (tmp_path / "photos").mkdir()
    rng = torch.Generator().manual_seed(0)
    for i in range(6):
        pixels = torch.randint(0, 256, (40, 48, 3), generator=rng, dtype=torch.uint8).numpy()
        Image.fromarray(pixels).save(tmp_path / "photos" / f"{i}.png")
    run = tmp_path / "run"
    assert cli.main(["pretrain", "vision", str(tmp_path / "photos"), "--encoder", "resnet18", "--encoder-args",
                     '{"cifar_stem": false}', "--output", str(run), "--batch-size", "4", "--num-workers", "0",
                     "--no-progress", "--max-steps", "1", "--export", "torchvision,hf"]) == 0
    out = capsys.readouterr().out
    assert "torchvision: " in out and "hf: " in out
    model = torchvision.models.resnet18()
    model.fc = nn.Identity()
    model.load_state_dict(torch.load(run / "exports" / "torchvision.pt", weights_only=True))
    assert (run / "exports" / "hf" / "README.md").is_file()
    assert cli.main(["pretrain", "vision", str(tmp_path / "photos"), "--output", str(tmp_path / "r2"),
                     "--export", "keras"]) == 2
    assert "unknown --export format keras" in capsys.readouterr().err
    assert not (tmp_path / "r2" / "checkpoint-00000001").exists()  # refused before training
