"""Encoders: shapes, stems, channels, positions for other image sizes, registry names."""

import pytest
import torch

from selfsup.core import registry
from selfsup.vision import PatchTokenizer, ResNetEncoder, VisionTransformer, build_encoder


@pytest.mark.parametrize(("arch", "dim"), [("resnet18", 512), ("resnet_mini", 128)])
def test_resnet_pooled_features(arch, dim):
    encoder = ResNetEncoder(arch).eval()
    x = torch.randn(2, 3, 32, 32)
    out = encoder(x)
    assert out.shape == (2, dim) == (2, encoder.out_dim)
    torch.testing.assert_close(encoder.forward_features(x), out)


def test_resnet_stems_and_channels():
    cifar = ResNetEncoder("resnet18", cifar_stem=True)
    imagenet = ResNetEncoder("resnet18", cifar_stem=False)
    assert cifar.stem[0].stride == (1, 1) and isinstance(cifar.stem[3], torch.nn.Identity)
    assert imagenet.stem[0].kernel_size == (7, 7) and isinstance(imagenet.stem[3], torch.nn.MaxPool2d)
    grey = ResNetEncoder("resnet_mini", in_chans=1)
    assert grey(torch.randn(2, 1, 28, 28)).shape == (2, 128)
    with pytest.raises(ValueError, match=r"expects \(B, 1, H, W\)"):
        grey(torch.randn(2, 3, 28, 28))
    with pytest.raises(ValueError, match="arch must be one of"):
        ResNetEncoder("resnet7")


def test_resnet50_width():
    assert ResNetEncoder("resnet50").out_dim == 2048


def test_vit_shapes_pooling_and_local_crops():
    torch.manual_seed(0)
    vit = VisionTransformer("mini", image_size=32, patch_size=4).eval()
    x = torch.randn(3, 3, 32, 32)
    assert vit(x).shape == (3, 128)
    out = vit.forward_tokens(x)
    assert out.tokens.shape == (3, 1 + 64, 128)
    mean_vit = VisionTransformer("mini", pool="mean")
    mean_vit.load_state_dict(vit.state_dict())
    torch.testing.assert_close(mean_vit.eval()(x), out.content.mean(1))
    assert vit(torch.randn(2, 3, 16, 16)).shape == (2, 128)  # DINO's local crops: interpolated positions
    keep = torch.tensor([[0, 5, 9]] * 3)
    assert vit.forward_tokens(x, keep=keep).tokens.shape == (3, 4, 128)
    with pytest.raises(ValueError, match="multiple of the patch size"):
        vit(torch.randn(1, 3, 30, 30))


def test_patch_tokenizer_positions():
    tok = PatchTokenizer(32, 8, 3, 16)
    assert tok.grid == (4, 4) and tok.positions().shape == (1, 16, 16)
    assert tok.positions((2, 2)).shape == (1, 4, 16)
    batch = tok(torch.randn(2, 3, 32, 32))
    assert batch.tokens.shape == (2, 16, 16) and batch.modality == "image"
    with pytest.raises(ValueError, match="multiple of patch_size"):
        PatchTokenizer(30, 8)


def test_registry_names():
    registry.load_plugins()
    assert {"resnet18", "resnet50", "vit_tiny_patch4", "vit_small_patch16"} <= set(registry.available("encoder"))
    assert {"vision_simclr", "vision_mae", "vision_ijepa"} <= set(registry.available("method"))
    vit = registry.create_encoder("vit_tiny_patch4")
    assert vit.out_dim == 192 and len(vit.trunk.blocks) == 12
    assert build_encoder("vit_small_patch16").tokenizer.grid == (14, 14)
    with pytest.raises(ValueError, match="unknown image encoder"):
        build_encoder("vgg")
