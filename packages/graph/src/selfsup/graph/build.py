"""Methods by name with the encoder and training recipe each uses in the suite and ``--recipe`` (the papers'
Cora settings, read from the package's recipe files)."""

from __future__ import annotations

from importlib import resources

from torch import nn

from selfsup.core.registry import recorded
from selfsup.graph.encoders import NodeEncoder
from selfsup.graph.encoders.graph_encoder import pooled_gnn
from selfsup.graph.methods import BGRL, CCASSG, DGI, GRACE, GraphCL, GraphMAE

METHODS = {"grace": GRACE, "bgrl": BGRL, "dgi": DGI, "graphmae": GraphMAE, "cca_ssg": CCASSG, "graphcl": GraphCL}
NODE_METHODS = ("grace", "bgrl", "dgi", "graphmae", "cca_ssg")
GRAPH_METHODS = ("graphcl",)

TRAIN_KEYS = ("epochs", "lr", "weight_decay", "optimizer", "min_lr_ratio", "ema_momentum", "batch_size")


def _recipes() -> dict[str, dict]:
    """``{method: {"encoder", "method", "train", "recipe", "source"}}`` from the package's recipe files
    (``selfsup/graph/recipes/*.yaml``, the papers' settings, what ``selfsup pretrain graph --recipe`` reads too):
    encoder = NodeEncoder arguments, method = method arguments, train = TrainConfig entries (optimizer "adam" = L2 in
    the gradient as the papers' torch.optim.Adam, min_lr_ratio=1.0 = constant rate; otherwise the Trainer's AdamW
    with a cosine decay)."""
    from selfsup.core.recipes import read_recipe

    out = {}
    for file in sorted((resources.files("selfsup.graph") / "recipes").iterdir(), key=lambda f: f.name):
        if file.name.endswith(".yaml"):
            recipe = read_recipe(file)
            out[recipe["method"]] = {"encoder": dict(recipe.get("encoder_args") or {}),
                                     "method": dict(recipe.get("method_args") or {}),
                                     "train": {k: recipe[k] for k in TRAIN_KEYS if k in recipe},
                                     "recipe": file.name.removesuffix(".yaml"), "source": recipe["source"]}
    return out


RECIPES = _recipes()


def build_encoder(name: str, in_dim: int, **overrides) -> nn.Module:
    """The encoder of method ``name``'s recipe for ``in_dim`` node features (``GraphEncoder`` with sum
    pooling for graph-level methods); ``overrides`` replace recipe entries."""
    if name not in RECIPES:
        raise ValueError(f"unknown graph method {name!r}; choose from {sorted(RECIPES)}")
    kwargs = {"in_dim": in_dim, **RECIPES[name]["encoder"], **overrides}
    if name in GRAPH_METHODS:
        return recorded(pooled_gnn(pooling="sum", **kwargs), "gnn_pooled", {"pooling": "sum", **kwargs})
    return recorded(NodeEncoder(**kwargs), "gnn_node", kwargs)


def build_method(name: str, encoder: nn.Module, **overrides) -> nn.Module:
    """``build_method("grace", encoder, temperature=0.5)``: the recipe's arguments, then ``overrides``."""
    if name not in METHODS:
        raise ValueError(f"unknown graph method {name!r}; choose from {sorted(METHODS)}")
    return METHODS[name](encoder, **{**RECIPES[name]["method"], **overrides})
