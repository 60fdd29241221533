"""Methods by name with the encoder and training recipe each uses in the suite (the papers' Cora settings)."""

from __future__ import annotations

from torch import nn

from selfsup.graph.encoders import GraphEncoder, NodeEncoder
from selfsup.graph.methods import BGRL, CCASSG, DGI, GRACE, GraphCL, GraphMAE

METHODS = {"grace": GRACE, "bgrl": BGRL, "dgi": DGI, "graphmae": GraphMAE, "cca_ssg": CCASSG, "graphcl": GraphCL}
NODE_METHODS = ("grace", "bgrl", "dgi", "graphmae", "cca_ssg")
GRAPH_METHODS = ("graphcl",)

# encoder: NodeEncoder arguments; method: method arguments; train: TrainConfig entries (epochs, lr, weight decay;
# optimizer "adam" = L2 in the gradient as the papers' torch.optim.Adam, min_lr_ratio=1.0 = constant rate);
# the Trainer's default otherwise: AdamW with a cosine decay
RECIPES = {
    "grace": {"encoder": dict(kind="gcn", hidden=512, num_layers=2, act="prelu"),
              "method": dict(temperature=0.4, drop_edge=(0.2, 0.4), mask_feature=(0.3, 0.4)),
              "train": dict(epochs=200, lr=5e-4, weight_decay=1e-5, optimizer="adam", min_lr_ratio=1.0)},
    "bgrl": {"encoder": dict(kind="gcn", hidden=512, num_layers=2, act="prelu", act_last=False),
             "method": dict(predictor_hidden=512, drop_edge=(0.2, 0.4), mask_feature=(0.3, 0.2)),
             "train": dict(epochs=400, lr=1e-3, weight_decay=1e-5, ema_momentum=0.99)},
    "dgi": {"encoder": dict(kind="gcn", hidden=512, num_layers=1, act="prelu"),
            "method": {},
            "train": dict(epochs=300, lr=1e-3, weight_decay=0.0)},
    "graphmae": {"encoder": dict(kind="gat", hidden=512, num_layers=2, heads=4, act="prelu", dropout=0.2,
                                 attn_dropout=0.1),
                 "method": dict(mask_rate=0.5, replace_rate=0.05, alpha=3.0),
                 "train": dict(epochs=1000, lr=1e-3, weight_decay=2e-4)},
    "cca_ssg": {"encoder": dict(kind="gcn", hidden=512, num_layers=2, act="relu", act_last=False),
                "method": dict(lambd=1e-3, drop_edge=(0.4, 0.4), mask_feature=(0.1, 0.1)),
                "train": dict(epochs=50, lr=1e-3, weight_decay=0.0, optimizer="adam", min_lr_ratio=1.0)},
    "graphcl": {"encoder": dict(kind="gin", hidden=32, num_layers=3, act="relu", norm="batch_norm",
                                concat_layers=True),
                "method": dict(temperature=0.2, aug_strength=0.2),
                "train": dict(epochs=20, lr=1e-3, weight_decay=0.0, batch_size=128)},
}


def build_encoder(name: str, in_dim: int, **overrides) -> nn.Module:
    """The encoder of method ``name``'s recipe for ``in_dim`` node features (``GraphEncoder`` with sum
    pooling for graph-level methods); ``overrides`` replace recipe entries."""
    if name not in RECIPES:
        raise ValueError(f"unknown graph method {name!r}; choose from {sorted(RECIPES)}")
    encoder = NodeEncoder(in_dim=in_dim, **{**RECIPES[name]["encoder"], **overrides})
    return GraphEncoder(encoder, "sum") if name in GRAPH_METHODS else encoder


def build_method(name: str, encoder: nn.Module, **overrides) -> nn.Module:
    """``build_method("grace", encoder, temperature=0.5)``: the recipe's arguments, then ``overrides``."""
    if name not in METHODS:
        raise ValueError(f"unknown graph method {name!r}; choose from {sorted(METHODS)}")
    return METHODS[name](encoder, **{**RECIPES[name]["method"], **overrides})
