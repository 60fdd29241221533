"""Volume encoders exported as MONAI's own networks (and ONNX): the state dict loads into the MONAI network a user
builds, strictly except the output head, and that network computes the encoder's features."""

from __future__ import annotations

import pytest
import torch
from monai.networks import nets
from torch import nn

from selfsup.core.export import NotExportable, export_encoder
from selfsup.medical.build import build_encoder


def _trained(name: str, **kwargs) -> nn.Module:
    torch.manual_seed(0)
    encoder = build_encoder(name, **kwargs)
    with torch.no_grad():
        for p in encoder.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return encoder.eval()


def test_unet_loads_into_basicunet_with_only_the_head_missing(tmp_path):
    encoder = _trained("unet3d_tiny")
    (done,) = export_encoder(encoder, ["monai"], tmp_path / "unet.pt")
    assert "BasicUNet(spatial_dims=3, in_channels=1, out_channels=NUM_CLASSES" in done.snippet
    net = nets.BasicUNet(spatial_dims=3, in_channels=1, out_channels=3, features=(4, 8, 16, 32, 64, 4),
                         norm="instance")  # as the snippet says: MONAI's default norm has affine weights
    result = net.load_state_dict(torch.load(tmp_path / "unet.pt", weights_only=True), strict=False)
    assert not result.unexpected_keys and {k.split(".")[0] for k in result.missing_keys} == {"final_conv"}
    x = torch.randn(2, 1, 32, 32, 32)
    with torch.no_grad():
        deepest = net.eval().conv_0(x)
        for down in (net.down_1, net.down_2, net.down_3, net.down_4):
            deepest = down(deepest)
        torch.testing.assert_close(deepest.mean(dim=(2, 3, 4)), encoder(x), rtol=0, atol=1e-4)
        assert net(x).shape == (2, 3, 32, 32, 32)  # the user's segmenter runs on the loaded weights


def test_swin_unetr_loads_into_monai_swinunetr(tmp_path):
    encoder = _trained("swin_unetr", feature_size=12)
    (done,) = export_encoder(encoder, ["monai"], tmp_path / "swin.pt")
    assert done.max_abs_diff <= 1e-4
    net = nets.SwinUNETR(in_channels=1, out_channels=2, feature_size=12)
    result = net.load_state_dict(torch.load(tmp_path / "swin.pt", weights_only=True), strict=False)
    assert not result.unexpected_keys and {k.split(".")[0] for k in result.missing_keys} == {"out"}
    x = torch.randn(1, 1, 64, 64, 64)
    with torch.no_grad():
        features = net.eval().swinViT(x, net.normalize)[4].mean(dim=(2, 3, 4))
        torch.testing.assert_close(features, encoder(x), rtol=0, atol=1e-4)


def test_resnet3d_loads_strictly_and_gives_the_features(tmp_path):
    pytest.importorskip("onnxruntime")
    encoder = _trained("resnet3d_10", widen_factor=0.25)
    done = export_encoder(encoder, ["monai", "onnx"], tmp_path / "out")
    assert [d.format for d in done] == ["monai", "onnx"]
    net = nets.resnet10(spatial_dims=3, n_input_channels=1, conv1_t_size=3, conv1_t_stride=1, feed_forward=False,
                        widen_factor=0.25, norm=("instance", {"affine": True}))
    net.load_state_dict(torch.load(tmp_path / "out" / "monai.pt", weights_only=True))  # strict
    x = torch.randn(2, 1, 32, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(net.eval()(x), encoder(x), rtol=0, atol=1e-4)


def test_the_3d_vit_has_no_monai_twin_and_says_which_formats_take_it(tmp_path):
    with pytest.raises(NotExportable, match="hf or onnx"):
        export_encoder(_trained("vit3d_mini"), ["monai"], tmp_path / "v.pt")
