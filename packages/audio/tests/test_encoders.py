import pytest
import torch

from selfsup.audio.build import ENCODERS, build_encoder
from selfsup.audio.encoders import AudioCNN, SpectrogramTransformer
from selfsup.audio.export_ast import to_ast_model
from selfsup.audio.methods._masked import patchify


@pytest.mark.parametrize("tokens, patch, n", [("patch", (16, 16), 8 * 6), ("frame", (128, 2), 48)])
def test_tokens_are_the_patches_in_frequency_major_order(tokens, patch, n):
    torch.manual_seed(0)
    enc = SpectrogramTransformer("mini", frames=96, tokens=tokens)
    spec = torch.randn(2, 128, 96)
    tok = enc.tokenizer
    assert tok.patch == patch and tok.grid[0] * tok.grid[1] == n
    flat = patchify(spec, patch)  # (B, N, pf*pt)
    expected = flat @ tok.proj.weight.view(tok.dim, -1).T + tok.proj.bias + tok.positions()
    torch.testing.assert_close(tok(spec).tokens, expected, atol=1e-4, rtol=1e-4)
    assert enc(spec).shape == (2, 128) and enc({"spec": spec}).shape == (2, 128)
    assert enc.forward_tokens(spec).tokens.shape == (2, n + 2, 128)  # CLS + AST's second prefix token


def test_other_lengths_and_bad_inputs():
    enc = SpectrogramTransformer("mini", frames=96)
    assert enc(torch.randn(1, 128, 64)).shape == (1, 128)  # positions interpolated to a 8x4 grid
    with pytest.raises(ValueError, match="128 bins"):
        enc(torch.randn(1, 64, 96))
    with pytest.raises(ValueError, match=r"\(B, F, T\)"):
        enc(torch.randn(1, 1, 128, 96))
    with pytest.raises(ValueError, match="multiple of the patch"):
        SpectrogramTransformer("mini", frames=90)


def test_audio_cnn_pools_time():
    cnn = AudioCNN(channels=8, out_dim=32).eval()
    assert cnn(torch.randn(3, 128, 96)).shape == (3, 32) and cnn(torch.randn(3, 128, 40)).shape == (3, 32)
    with pytest.raises(ValueError, match="multiple of 8"):
        AudioCNN(num_mel_bins=100)


def test_registry_names_build():
    assert {"audio_vit_mini_patch", "audio_vit_tiny_frame", "audio_cnn", "audio_cnn_small"} <= set(ENCODERS)
    assert build_encoder("audio_cnn_small", num_mel_bins=128, frames=96).out_dim == 256
    with pytest.raises(ValueError, match="unknown audio encoder"):
        build_encoder("nope")


def test_export_to_transformers_ast_model_gives_the_same_features(tmp_path):
    transformers = pytest.importorskip("transformers")
    from selfsup.audio.export_ast import save_ast
    from selfsup.audio.features import SpectrogramStats

    torch.manual_seed(0)
    enc = SpectrogramTransformer("mini", frames=96).eval()
    with torch.no_grad():  # move every weight off its initial value (zeros, ones)
        for p in enc.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    save_ast(enc, tmp_path, SpectrogramStats(-6.0, 4.0))
    model = transformers.ASTModel.from_pretrained(tmp_path).eval()
    spec = torch.randn(3, 128, 96)
    with torch.no_grad():
        ours = enc.forward_tokens(spec)
        theirs = model(input_values=spec.transpose(1, 2))
    torch.testing.assert_close(theirs.last_hidden_state, ours.tokens, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(theirs.pooler_output, (ours.tokens[:, 0] + ours.tokens[:, 1]) / 2, atol=1e-5,
                               rtol=1e-5)
    extractor = transformers.ASTFeatureExtractor.from_pretrained(tmp_path)
    assert (extractor.mean, extractor.std, extractor.max_length, extractor.num_mel_bins) == (-6.0, 4.0, 96, 128)


def test_export_refuses_frame_tokens():
    pytest.importorskip("transformers")
    with pytest.raises(ValueError, match="square patches"):
        to_ast_model(SpectrogramTransformer("mini", tokens="frame"))
