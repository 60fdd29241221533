"""What every export shares: the result it returns, the refusal for an encoder a format does not take, the output
comparison each export ends with, and the random batch it compares on.

An exporter is ``fn(encoder, output) -> Exported``, registered per format (``registry.register_exporter``). It writes
``output``, loads it back the way the target library's users do, runs both on :func:`example_input` and passes the
two outputs to :func:`compare`, which fails loudly past ``1e-4`` (fp32; relative to outputs larger than 1)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from selfsup.core import registry

TOLERANCE = 1e-4


class NotExportable(ValueError):
    """This format does not take this encoder; the message names the formats or encoders that work."""


@dataclass
class Exported:
    """One export: the format, the file or folder written, the loading snippet for the target library, and the
    largest absolute difference between the reloaded model's outputs and the selfsup encoder's on a random batch."""

    format: str
    path: Path
    snippet: str
    max_abs_diff: float

    def report(self) -> str:
        return (f"{self.format}: {self.path} (reloaded, max |difference| {self.max_abs_diff:.2e} on a random batch)\n"
                + "\n".join(f"    {line}" for line in self.snippet.strip().splitlines()))


def encoder_name(encoder: nn.Module) -> str:
    """The registered name the encoder was built under (``selfsup_spec``), or a NotExportable saying so."""
    spec = getattr(encoder, "selfsup_spec", None)
    if spec is None:
        raise NotExportable("this encoder records no registered name (build it with create_encoder, a domain's "
                            "build_encoder, or load it with load_pretrained)")
    return spec["name"]


def encoder_kwargs(encoder: nn.Module) -> dict[str, Any]:
    """The keyword arguments ``encoder`` was built with (recorded by ``create_encoder``/``build_encoder``)."""
    return dict(getattr(encoder, "selfsup_spec", {}).get("kwargs") or {})


def domain_of(encoder: nn.Module) -> str:
    """``vision``, ``audio``, ... : the package that registered the encoder (``core`` for the core's own)."""
    factory = registry.get("encoder", encoder_name(encoder))
    module = getattr(getattr(factory, "func", factory), "__module__", "") or ""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "selfsup" else "core"


def example_input(encoder: nn.Module, batch: int = 2) -> Any:
    """A random batch ``encoder`` takes (from its domain's registered example), seeded so a check repeats."""
    domain = domain_of(encoder)
    if domain not in registry.available("example"):
        raise NotExportable(f"the {domain} package gives no example input for encoder {encoder_name(encoder)!r}")
    torch.manual_seed(0)
    return registry.get("example", domain)(encoder, batch)


def run(model: nn.Module, inputs: Any) -> torch.Tensor:
    """``model(inputs)``, or ``model(*inputs)`` for an encoder of several inputs (a graph's ``x, edge_index``)."""
    return model(*inputs) if isinstance(inputs, tuple) else model(inputs)


def compare(reference: torch.Tensor, other: Any, what: str, tolerance: float = TOLERANCE) -> float:
    """The largest absolute difference between ``reference`` and ``other`` (a tensor or an array); a ValueError
    naming ``what`` when the shapes differ, a value is not finite or the difference passes ``tolerance`` times the
    reference's largest magnitude (at least 1: fp32 kernels that sum in another order, e.g. channels-last against
    contiguous convolutions, differ in the last bits, which grow with the values; an untrained ResNet-34's features
    reach the hundreds)."""
    expected = reference.detach().float().cpu().numpy()
    got = np.asarray(other.detach().float().cpu() if isinstance(other, torch.Tensor) else other, dtype=np.float32)
    if expected.shape != got.shape:
        raise ValueError(f"{what}: output shape {got.shape}, the selfsup encoder gives {expected.shape}")
    if not np.isfinite(got).all():
        raise ValueError(f"{what}: the reloaded model gives non-finite outputs")
    diff = float(np.abs(expected - got).max()) if expected.size else 0.0
    scale = max(1.0, float(np.abs(expected).max())) if expected.size else 1.0
    if diff > tolerance * scale:
        raise ValueError(f"{what}: outputs differ from the selfsup encoder's by {diff:.3g} (more than {tolerance:g} x "
                         f"{scale:.3g}, the outputs' scale); the export is wrong and was not kept")
    return diff


def compare_reloaded(encoder: nn.Module, reloaded: nn.Module, what: str) -> float:
    """:func:`compare` of ``encoder`` and the model an export was loaded back into, both in eval mode on
    :func:`example_input`: the check most exporters end with (those whose target takes the encoder's inputs)."""
    inputs = example_input(encoder)
    with torch.no_grad():
        return compare(run(encoder.eval(), inputs), run(reloaded.eval(), inputs), what)
