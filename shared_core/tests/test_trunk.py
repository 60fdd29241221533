"""The shared trunk: padding invariance, variable lengths, prefix tokens, layers, and ViT weights."""

import pytest
import torch

from selfsup.core.trunk import TokenBatch, Trunk, torchvision_vit_to_timm


def _trunk(**kw):
    torch.manual_seed(0)
    return Trunk(**{"dim": 32, "depth": 2, "heads": 4, **kw}).eval()


def test_padded_positions_change_nothing():
    trunk = _trunk(num_registers=2)
    gen = torch.Generator().manual_seed(1)
    tokens = torch.randn(3, 7, 32, generator=gen)
    padding = torch.tensor([[False] * 7, [False] * 4 + [True] * 3, [False] * 2 + [True] * 5])
    out = trunk(TokenBatch(tokens, padding))
    garbage = tokens.clone()
    garbage[padding] = torch.randn(int(padding.sum()), 32, generator=gen) * 100
    out2 = trunk(TokenBatch(garbage, padding))
    keep = ~out.padding_mask
    torch.testing.assert_close(out.tokens[keep], out2.tokens[keep])
    assert out.padding_mask.shape == (3, 10) and not out.padding_mask[:, :3].any()


def test_a_padded_sample_equals_the_same_sample_alone():
    trunk = _trunk()
    gen = torch.Generator().manual_seed(2)
    short, long = torch.randn(1, 4, 32, generator=gen), torch.randn(1, 9, 32, generator=gen)
    batch = torch.cat([torch.cat([short, torch.zeros(1, 5, 32)], dim=1), long])
    padding = torch.tensor([[False] * 4 + [True] * 5, [False] * 9])
    together = trunk(TokenBatch(batch, padding))
    alone = trunk(TokenBatch(short))
    torch.testing.assert_close(together.tokens[0, : 1 + 4], alone.tokens[0], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(together.mean_pool()[0], alone.mean_pool()[0], rtol=1e-5, atol=1e-5)


def test_prefix_layers_and_modality_embedding():
    trunk = _trunk(num_registers=3, modalities=["image", "audio"])
    x = torch.randn(2, 5, 32)
    out = trunk(TokenBatch(x, modality="image"), return_layers=[0, 1])
    assert out.tokens.shape == (2, 1 + 3 + 5, 32) and out.num_prefix == 4 and out.cls.shape == (2, 32)
    assert len(out.layers) == 2 and out.layers[-1].shape == (2, 9, 32)
    with torch.no_grad():
        trunk.modality_embed["audio"].fill_(0.5)
    audio = trunk(TokenBatch(x, modality="audio"))
    assert not torch.allclose(audio.tokens, out.tokens)
    trunk.add_modality("table")
    torch.testing.assert_close(trunk(TokenBatch(x, modality="table")).tokens, out.tokens)  # zero-initialised


def test_sizes_and_errors():
    assert Trunk.from_size("tiny").dim == 192 and len(Trunk.from_size("small", depth=2).blocks) == 2
    with pytest.raises(ValueError, match="size must be one of"):
        Trunk.from_size("huge")
    trunk = _trunk(cls_token=False)
    with pytest.raises(ValueError, match="width 16, the trunk expects 32"):
        trunk(TokenBatch(torch.randn(1, 3, 16)))
    with pytest.raises(ValueError, match="only padding"):
        trunk(TokenBatch(torch.randn(1, 3, 32), torch.ones(1, 3, dtype=torch.bool)))
    with pytest.raises(TypeError, match="True = padding"):
        TokenBatch(torch.randn(1, 3, 32), torch.ones(1, 3))


def test_torchvision_vit_weights_load_and_give_the_same_outputs():
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    vit = torchvision.models.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=4,
                                               hidden_dim=64, mlp_dim=128).eval()
    with torch.no_grad():  # random (not the constructor's zeros) class token and positions
        vit.class_token.normal_()
        vit.encoder.pos_embedding.normal_()
    images = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        patches = vit._process_input(images)                                  # (3, 16, 64)
        expected = vit.encoder(torch.cat([vit.class_token.expand(3, -1, -1), patches], dim=1))
    state = torchvision_vit_to_timm(vit.state_dict())
    assert "blocks.1.attn.qkv.weight" in state and "patch_embed.proj.weight" in state
    trunk = Trunk(dim=64, depth=2, heads=4, mlp_ratio=2.0).eval()
    rest = trunk.load_timm_state_dict(state)
    assert set(rest) == {"patch_embed.proj.weight", "patch_embed.proj.bias", "pos_embed", "head.weight", "head.bias"}
    with torch.no_grad():
        out = trunk(TokenBatch(patches + rest["pos_embed"], modality="image"))
    torch.testing.assert_close(out.tokens, expected, rtol=1e-5, atol=1e-5)


def test_mismatched_vit_weights_are_named():
    state = {k: v for k, v in _trunk().state_dict().items()}
    with pytest.raises(ValueError, match="lacks trunk weights"):
        _trunk(depth=3).load_timm_state_dict(state)
    with pytest.raises(ValueError, match=r"blocks.0.attn.qkv.weight: checkpoint has shape"):
        Trunk(dim=32, depth=2, heads=4, mlp_ratio=2.0).load_timm_state_dict(
            {**state, "blocks.0.attn.qkv.weight": torch.zeros(3, 3)})
