"""Audio encoders exported as transformers' ASTModel (patch-token transformers), and to ONNX Runtime and the hf
folder (every audio encoder): reloaded the target's way, same features on random spectrograms."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from selfsup.audio.build import build_encoder
from selfsup.core.export import NotExportable, export_encoder
from selfsup.core.hub import save_pretrained

transformers = pytest.importorskip("transformers")


def _trained(name: str, **kwargs) -> nn.Module:
    torch.manual_seed(0)
    encoder = build_encoder(name, **kwargs)
    with torch.no_grad():
        for p in encoder.parameters():
            p.add_(0.02 * torch.randn_like(p))
    return encoder.eval()


@pytest.mark.parametrize("pool", ["mean", "cls"])
def test_a_patch_transformer_loads_as_astmodel_with_the_runs_statistics(tmp_path, pool):
    encoder = _trained("audio_vit_mini_patch", num_mel_bins=64, frames=48, pool=pool)
    save_pretrained(encoder, tmp_path / "run" / "encoder")
    (tmp_path / "run" / "encoder" / "data_config.json").write_text(
        json.dumps({"domain": "audio", "data": {"stats_mean": -5.5, "stats_std": 3.25}}))
    (done,) = export_encoder(encoder, ["ast"], tmp_path / "ast", encoder_dir=tmp_path / "run" / "encoder")
    model = transformers.ASTModel.from_pretrained(str(tmp_path / "ast")).eval()
    spec = torch.randn(3, 64, 48)
    with torch.no_grad():
        hidden = model(input_values=spec.transpose(1, 2)).last_hidden_state
        theirs = hidden[:, 0] if pool == "cls" else hidden[:, 2:].mean(dim=1)
        torch.testing.assert_close(theirs, encoder(spec), rtol=0, atol=1e-4)
    extractor = transformers.ASTFeatureExtractor.from_pretrained(str(tmp_path / "ast"))
    assert (extractor.mean, extractor.std) == (-5.5, 3.25) and "ASTFeatureExtractor" in done.snippet


def test_frame_tokens_and_the_cnn_go_to_onnx_and_hf_not_ast(tmp_path):
    pytest.importorskip("onnxruntime")
    for name, kwargs in (("audio_vit_mini_frame", {"num_mel_bins": 64, "frames": 48}),
                         ("audio_cnn_small", {"num_mel_bins": 64})):
        encoder = _trained(name, **kwargs)
        with pytest.raises(NotExportable, match="patch-token"):
            export_encoder(encoder, ["ast"], tmp_path / name / "ast")
        done = export_encoder(encoder, ["onnx", "hf"], tmp_path / name / "out")
        assert all(d.max_abs_diff <= 1e-4 for d in done)
