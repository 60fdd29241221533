"""Encoders and methods by name, sized from a fitted :class:`TablePreprocessor`."""

from __future__ import annotations

from torch import nn

from selfsup.core.registry import recorded
from selfsup.tabular.encoders import FTTransformer, TabularMLP
from selfsup.tabular.methods import SCARF, TJEPA, DenoisingAutoencoder, SubTab, VIMESelf
from selfsup.tabular.preprocessing import TablePreprocessor

ENCODERS = {"mlp": TabularMLP, "ft_transformer": FTTransformer}
METHODS = {"scarf": SCARF, "vime": VIMESelf, "subtab": SubTab, "dae": DenoisingAutoencoder, "tjepa": TJEPA}
_NEEDS_COLUMNS = {"vime", "subtab", "dae"}


def build_encoder(name: str, preprocessor: TablePreprocessor, **kwargs) -> nn.Module:
    """A table encoder (``mlp`` or ``ft_transformer``) sized for a fitted :class:`TablePreprocessor`."""
    if name not in ENCODERS:
        raise ValueError(f"unknown tabular encoder {name!r}; choose from {sorted(ENCODERS)}")
    columns = {"num_numeric": preprocessor.num_numeric, "cardinalities": list(preprocessor.cardinalities)}
    return recorded(ENCODERS[name](**columns, **kwargs), f"tabular_{name}", {**columns, **kwargs})


def build_method(name: str, encoder: nn.Module, preprocessor: TablePreprocessor, **kwargs) -> nn.Module:
    """A table SSL method (``scarf``, ``vime``, ``subtab``, ``dae``, ``tjepa``) around ``encoder``."""
    if name not in METHODS:
        raise ValueError(f"unknown tabular method {name!r}; choose from {sorted(METHODS)}")
    if name in _NEEDS_COLUMNS:
        return METHODS[name](encoder, preprocessor.num_numeric, preprocessor.cardinalities, **kwargs)
    return METHODS[name](encoder, **kwargs)
