"""Graph encoders exported for torch-geometric's basic models and ONNX Runtime: loaded the way PyG users load weights,
same node embeddings on a random graph; the constructions PyG cannot express are refused by name."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch_geometric.nn import models

from selfsup.core.export import NotExportable, export_encoder
from selfsup.graph.build import build_encoder
from selfsup.graph.export import example_graph


def _trained(method: str, **overrides) -> nn.Module:
    torch.manual_seed(0)
    encoder = build_encoder(method, 10, **overrides)
    with torch.no_grad():
        for name, p in encoder.named_parameters():
            if not name.startswith("acts."):
                p.add_(0.1 * torch.randn_like(p))
    return encoder.eval()


@pytest.mark.parametrize(("method", "overrides", "model"), [
    ("grace", {"hidden": 32}, "GCN"),                                  # PReLU (one slope, shared), act on the last
    ("graphmae", {"hidden": 32, "heads": 4}, "GAT"),                   # GAT, 4 heads concatenated
    ("cca_ssg", {"hidden": 32}, "GCN"),
])
def test_a_node_encoder_loads_into_the_pyg_basic_model_strictly(tmp_path, method, overrides, model):
    encoder = _trained(method, **overrides)
    (done,) = export_encoder(encoder, ["pyg"], tmp_path / "gnn.pt")
    assert f"torch_geometric.nn.models.{model}(in_channels=10" in done.snippet
    kind = encoder.kind
    kwargs = dict(in_channels=10, hidden_channels=32, num_layers=encoder.num_layers, act=type(encoder.acts[0]).__name__
                  .lower(), jk="last" if encoder.act_last else None, norm=None)
    if kind == "gat":
        kwargs["heads"] = 4
    net = getattr(models, model)(**kwargs)
    net.load_state_dict(torch.load(tmp_path / "gnn.pt", weights_only=True))  # strict
    x, edge_index = example_graph(encoder, 3)
    with torch.no_grad():
        torch.testing.assert_close(net.eval()(x, edge_index), encoder(x, edge_index), rtol=0, atol=1e-4)


def test_what_pyg_cannot_express_is_refused_by_name(tmp_path):
    encoder = _trained("grace", hidden=16)
    with torch.no_grad():
        encoder.acts[1].weight.fill_(0.4)  # trained per-layer slopes that differ
    with pytest.raises(NotExportable, match="per-layer PReLU slopes differ"):
        export_encoder(encoder, ["pyg"], tmp_path / "a.pt")
    with pytest.raises(NotExportable, match="GIN"):
        export_encoder(_trained("grace", hidden=16, kind="gin"), ["pyg"], tmp_path / "b.pt")
    with pytest.raises(NotExportable, match="node encoders"):
        export_encoder(_trained("graphcl", hidden=16), ["pyg"], tmp_path / "c.pt")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("method", ["grace", "graphmae", "graphcl"])
def test_onnx_and_hf_take_node_and_graph_encoders(tmp_path, method):
    pytest.importorskip("onnxruntime")
    import onnxruntime as ort

    encoder = _trained(method, hidden=16)
    done = export_encoder(encoder, ["onnx", "hf"], tmp_path / "out")
    assert all(d.max_abs_diff <= 1e-4 for d in done)
    session = ort.InferenceSession(str(tmp_path / "out" / "encoder.onnx"), providers=["CPUExecutionProvider"])
    inputs = example_graph(encoder, 5)  # another graph, of another size: nodes and edges are dynamic axes
    names = [i.name for i in session.get_inputs()]
    got = session.run(None, {n: t.numpy() for n, t in zip(names, inputs, strict=True)})[0]
    with torch.no_grad():
        torch.testing.assert_close(torch.from_numpy(got), encoder(*inputs), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("pooling", ["sum", "mean", "max"])
def test_the_traceable_pooling_equals_pygs(pooling):
    from selfsup.graph.encoders.graph_encoder import POOLINGS, traceable_pool

    h, batch = torch.randn(30, 5), torch.tensor([0] * 7 + [1] * 3 + [2] * 20)
    torch.testing.assert_close(traceable_pool(h, batch, pooling), POOLINGS[pooling](h, batch))
