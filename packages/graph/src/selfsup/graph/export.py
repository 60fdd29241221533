"""Node encoders as torch-geometric's basic models: ``--format pyg`` writes a state dict that
``torch_geometric.nn.models.GCN`` / ``GAT`` built with the printed arguments loads with ``strict=True``, and that model
computes the encoder's node embeddings.

The one construction difference: PyG's basic models apply no activation after their last layer unless a
jumping-knowledge mode is set, and then add a final ``Linear``. Our encoders activate every layer (``act_last``), so
the export uses ``jk="last"`` with that ``Linear`` set to the identity. PyG keeps one activation module for all layers;
our per-layer PReLUs map to it when their slopes are equal and are refused otherwise (naming the slopes), as is GIN
(PyG's GIN puts the shared activation and the norm inside each MLP, ours a ReLU and a BatchNorm)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from selfsup.core.export import Exported, NotExportable, compare_reloaded, encoder_name
from selfsup.graph.encoders import GraphEncoder, NodeEncoder

PYG_MODELS = {"gcn": "GCN", "gat": "GAT"}


def example_graph(encoder: nn.Module, batch: int) -> tuple[torch.Tensor, ...]:
    """``(x (N, F), edge_index (2, E))`` of a random undirected graph without self-loops, 12 nodes per ``batch``
    item (and the ``batch`` vector for a pooled encoder, one graph per item)."""
    node = encoder.node_encoder if isinstance(encoder, GraphEncoder) else encoder
    n = 12 * batch
    source = torch.randint(0, n, (3 * n,))
    target = (source + torch.randint(1, n, (3 * n,))) % n  # never the source itself
    edges = torch.unique(torch.stack([torch.cat([source, target]), torch.cat([target, source])]), dim=1)
    x = torch.randn(n, node.in_dim)
    if isinstance(encoder, GraphEncoder):
        return x, edges, torch.arange(batch).repeat_interleave(12)
    return x, edges


def pyg_twin(encoder: NodeEncoder) -> tuple[nn.Module, dict[str, torch.Tensor], str]:
    """``(the PyG model, its state dict, the line that builds it)`` for ``encoder``; NotExportable when PyG's basic
    models cannot compute what it computes."""
    from torch_geometric.nn import models

    if not isinstance(encoder, NodeEncoder):
        raise NotExportable(f"--format pyg takes node encoders (gnn_node), not {encoder_name(encoder)!r}; "
                            "--format hf takes it")
    if encoder.kind not in PYG_MODELS:
        raise NotExportable(f"--format pyg: PyG's GIN puts its activation and norm inside each MLP where this "
                            f"{encoder.kind} encoder has a ReLU and a BatchNorm; --format hf takes it")
    if encoder.concat_layers:
        raise NotExportable("--format pyg: an encoder that concatenates its layers has no PyG basic model twin")
    acts = list(encoder.acts)
    slopes = [a.weight.detach() for a in acts if isinstance(a, nn.PReLU)]
    if slopes and not all(torch.equal(s, slopes[0]) for s in slopes):
        raise NotExportable("--format pyg: PyG's basic models share one activation across layers, and this "
                            "encoder's per-layer PReLU slopes differ "
                            f"({', '.join(f'{s.flatten()[0].item():.4f}' for s in slopes)}); --format hf takes it")
    act = type(acts[0]).__name__.lower()
    norm = type(encoder.norms[0]).__name__
    norm_name = {"Identity": None, "BatchNorm": "batch_norm", "LayerNorm": "layer_norm"}.get(norm, "unknown")
    if norm_name == "unknown":
        raise NotExportable(f"--format pyg: no PyG norm name for {norm}")
    heads = encoder.convs[0].heads if encoder.kind == "gat" else None
    args = dict(in_channels=encoder.in_dim, hidden_channels=encoder.hidden, num_layers=encoder.num_layers, act=act,
                norm=norm_name, jk="last" if encoder.act_last else None)
    if heads:
        args["heads"] = heads
    model = getattr(models, PYG_MODELS[encoder.kind])(**args)
    weights = {}
    for key, value in encoder.state_dict().items():
        if key.startswith("acts."):
            if key.startswith("acts.0."):
                weights["act." + key.split(".", 2)[2]] = value
            continue
        weights[key] = value
    if encoder.act_last:
        weights["lin.weight"] = torch.eye(encoder.hidden)
        weights["lin.bias"] = torch.zeros(encoder.hidden)
    extra = f", heads={heads}" if heads else ""
    line = (f"model = torch_geometric.nn.models.{PYG_MODELS[encoder.kind]}(in_channels={encoder.in_dim}, "
            f"hidden_channels={encoder.hidden}, num_layers={encoder.num_layers}, act={act!r}, norm={norm_name!r}, "
            f"jk={args['jk']!r}{extra})")
    return model, {k: v.detach().contiguous().clone() for k, v in weights.items()}, line


def export_pyg(encoder: nn.Module, output: Path, **_) -> Exported:
    """``output`` (``.pt``): the PyG model's state dict, loaded back strictly into the printed model and compared on
    a random graph."""
    model, weights, line = pyg_twin(encoder)
    torch.save(weights, output)  # tensors only: torch.load(..., weights_only=True) reads it
    model.load_state_dict(torch.load(output, weights_only=True), strict=True)
    diff = compare_reloaded(encoder, model, f"pyg {output}")
    snippet = ("import torch, torch_geometric\n" + line + "\n"
               f'model.load_state_dict(torch.load("{output}", weights_only=True))\n'
               "embeddings = model(x, edge_index)  # (num_nodes, hidden)")
    return Exported("pyg", output, snippet, diff)
