"""Every encoder ``selfsup list`` shows exports to ``hf`` and ``onnx`` and reloads with the same outputs (small
shapes here; `benchmarks/export/export_matrix.py` runs the registered defaults and the field formats)."""

from __future__ import annotations

import pytest
import torch

from selfsup.core import registry
from selfsup.core.export import export_encoder

pytest.importorskip("onnxruntime")

SMALL = {"mlp": {"in_dim": 16}, "gnn_node": {"kind": "gcn", "in_dim": 8, "hidden": 16},
         "gnn_pooled": {"kind": "gin", "in_dim": 8, "hidden": 16},
         "tabular_mlp": {"num_numeric": 4, "cardinalities": [3]},
         "tabular_ft_transformer": {"num_numeric": 4, "cardinalities": [3], "dim": 16, "depth": 1},
         "swin_unetr": {"feature_size": 12}, "resnet3d_18": {"widen_factor": 0.25},
         "unet3d": {"features": (4, 8, 16, 32, 64, 4)}}
NOT_REBUILDABLE = {"gnn_graph"}  # takes a built node encoder; gnn_pooled is its saveable form
# the ViT-Base sizes are the ViT-Small code at 768 wide (20 s each to trace): the committed matrix covers them
COVERED_BY_THE_BENCHMARK = {"vit_base_patch16", "vit3d_base", "audio_vit_base_frame", "audio_vit_base_patch"}


def _small(name: str) -> dict:
    if name in SMALL:
        return SMALL[name]
    if name.startswith(("vit_", "resnet")) and not name.startswith("resnet3d"):
        return {"image_size": 32}
    if name.startswith("audio_"):
        return {"num_mel_bins": 64} if name.startswith("audio_cnn") else {"num_mel_bins": 64, "frames": 32}
    return {}


@pytest.mark.parametrize("name", [n for n in registry.available("encoder")
                                  if n not in NOT_REBUILDABLE | COVERED_BY_THE_BENCHMARK])
def test_every_encoder_exports_to_hf_and_onnx(tmp_path, name):
    torch.manual_seed(0)
    encoder = registry.create_encoder(name, **_small(name)).eval()
    done = export_encoder(encoder, ["hf", "onnx"], tmp_path)
    assert [d.format for d in done] == ["hf", "onnx"]  # each compared on reload, or export_encoder raised
    assert (tmp_path / "hf" / "model.safetensors").is_file() and (tmp_path / "encoder.onnx").stat().st_size > 0
