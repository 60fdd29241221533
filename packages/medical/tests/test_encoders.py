from __future__ import annotations

import pytest
import torch

from selfsup.core.registry import create_encoder
from selfsup.medical import (
    PatchTokenizer3D,
    SwinUNETREncoder,
    build_encoder,
    load_pretrained_weights,
)
from selfsup.medical.encoders import patchify3d, unpatchify3d


@pytest.mark.parametrize("name, kwargs, dim", [("unet3d_tiny", {}, 64), ("vit3d_mini", {"patch_size": 8}, 96),
                                               ("resnet3d_10", {"widen_factor": 0.25}, 128)])
def test_encoders_pool_and_map(name, kwargs, dim):
    torch.manual_seed(0)
    encoder = build_encoder(name, **kwargs)
    x = torch.randn(2, 1, 32, 32, 32)
    assert encoder(x).shape == (2, dim) == (2, encoder.out_dim)
    fmap = encoder.feature_map(x)
    assert fmap.shape == (2, encoder.bottleneck_channels, *(3 * (32 // encoder.stride,)))


@pytest.mark.parametrize("name, kwargs", [("unet3d_tiny", {}), ("unet3d_small16", {}),
                                          ("vit3d_mini", {"patch_size": 8})])
def test_segmenter_shares_the_encoder(name, kwargs):
    encoder = build_encoder(name, **kwargs)
    segmenter = encoder.segmenter(4)
    x = torch.randn(1, 1, 32, 32, 32)
    logits = segmenter(x)
    assert logits.shape == (1, 4, 32, 32, 32)
    logits.square().mean().backward()
    shared = next(encoder.encoder_parameters())
    assert any(p is shared for p in segmenter.parameters()) and shared.grad is not None and shared.grad.abs().sum() > 0


def test_unet_sizes_differ_in_their_last_block():
    # the default preset's U-Net: a 16-wide last up-sampling block feeds the 4-class head (8 left CSF unlearned)
    assert build_encoder("unet3d_small16").features == (8, 16, 32, 64, 128, 16)
    assert build_encoder("unet3d_small").features == (8, 16, 32, 64, 128, 8)
    assert build_encoder("unet3d_small16").segmenter(4).head.in_channels == 16


def test_resnet_has_no_dense_head_and_inputs_are_checked():
    with pytest.raises(TypeError, match="no decoder"):
        build_encoder("resnet3d_10", widen_factor=0.25).segmenter(2)
    unet = build_encoder("unet3d_tiny")
    with pytest.raises(ValueError, match="at least 32"):
        unet(torch.randn(1, 1, 16, 16, 16))
    with pytest.raises(ValueError, match=r"expects volumes \(B, 1"):
        unet(torch.randn(1, 2, 32, 32, 32))


def test_swin_unetr_encoder_and_segmenter():
    torch.manual_seed(0)
    swin = SwinUNETREncoder(feature_size=12)
    x = torch.randn(1, 1, 64, 64, 64)
    assert swin(x).shape == (1, 192)
    assert swin.segmenter(3)(x).shape == (1, 3, 64, 64, 64)
    with pytest.raises(ValueError, match="multiple of 32"):
        swin(torch.randn(1, 1, 48, 64, 64))


def test_patchify_round_trip_and_tokenizer_order():
    x = torch.randn(2, 1, 16, 8, 12)
    patches = patchify3d(x, 4)
    assert patches.shape == (2, 4 * 2 * 3, 64)
    assert torch.equal(unpatchify3d(patches, (4, 2, 3), 4), x)
    assert torch.equal(patches[0, 1], x[0, 0, 0:4, 0:4, 4:8].reshape(-1))  # row-major: z fastest
    tok = PatchTokenizer3D(16, 4, 1, 96)
    assert tok(torch.randn(1, 1, 16, 16, 16)).tokens.shape == (1, 64, 96)
    assert tok(torch.randn(1, 1, 32, 16, 16)).tokens.shape == (1, 128, 96)  # positions interpolated


def test_width_that_six_does_not_divide_gets_padded_sincos_positions():
    from selfsup.core.trunk import sincos_grid
    from selfsup.medical.encoders.vit3d import VisionTransformer3D

    vit = VisionTransformer3D("mini", volume_size=16, patch_size=4, dim=128)  # the image/audio mini trunk width
    assert vit.trunk.config.dim == 128 and vit.out_dim == 128 and len(vit.trunk.blocks) == 4
    table = vit.tokenizer.pos_embed[0]
    torch.testing.assert_close(table[:, :126], sincos_grid((4, 4, 4), 126))
    assert torch.equal(table[:, 126:], torch.zeros(64, 2))
    assert vit(torch.randn(2, 1, 16, 16, 16)).shape == (2, 128)
    with pytest.raises(ValueError, match="even"):
        PatchTokenizer3D(16, 4, 1, 99)


def test_load_pretrained_weights_reports_loaded_and_skipped(tmp_path):
    torch.manual_seed(0)
    source, target = build_encoder("unet3d_tiny"), build_encoder("unet3d_tiny")
    state = {f"module.{k}": v for k, v in source.state_dict().items()}
    state["module.net.conv_0.conv_0.conv.weight"] = torch.zeros(1, 2, 3)  # wrong shape
    state["module.projection_head.weight"] = torch.zeros(3)  # not in the model
    path = tmp_path / "ckpt.pt"
    torch.save({"state_dict": state}, path)
    report = load_pretrained_weights(target, path, verbose=False)
    assert "net.down_4.convs.conv_0.conv.weight" in report["loaded"]
    assert report["missing"] == ["net.conv_0.conv_0.conv.weight"]
    assert any(s.startswith("net.conv_0.conv_0.conv.weight: shape") for s in report["skipped"])
    assert any(s.startswith("projection_head.weight: no such key") for s in report["skipped"])
    torch.testing.assert_close(target.net.down_4.convs.conv_0.conv.weight, source.net.down_4.convs.conv_0.conv.weight)


def test_bare_swin_vit_checkpoint_loads_by_suffix():
    a, b = SwinUNETREncoder(feature_size=12), SwinUNETREncoder(feature_size=12)
    bare = {k.removeprefix("net.swinViT."): v for k, v in a.state_dict().items() if k.startswith("net.swinViT.")}
    report = load_pretrained_weights(b, bare, verbose=False)
    assert len(report["loaded"]) == len(bare) and not report["skipped"]
    torch.testing.assert_close(b.net.swinViT.patch_embed.proj.weight, a.net.swinViT.patch_embed.proj.weight)


def test_registry_builds_volume_encoders():
    encoder = create_encoder("unet3d_tiny")
    assert encoder.selfsup_spec == {"name": "unet3d_tiny", "kwargs": {}}
