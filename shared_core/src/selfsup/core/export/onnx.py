"""``--format onnx``: the encoder traced by ``torch.onnx.export`` (TorchScript exporter, opset 18, dynamic row
axes), then run by ONNX Runtime on a random batch and compared with PyTorch. Needs ``onnx`` and ``onnxruntime``
(``pip install selfsup-core[export]``)."""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path

import torch
from torch import nn

from selfsup.core.export.base import Exported, NotExportable, compare, encoder_name, example_input, run

OPSET = 18  # ScatterElements with max reduction (graph max pooling)


def input_names(encoder: nn.Module, inputs: tuple[torch.Tensor, ...]) -> list[str]:
    """``["input"]`` for one tensor, else the names of ``forward``'s parameters (``x``, ``edge_index``, ...)."""
    if len(inputs) == 1:
        return ["input"]
    return list(inspect.signature(encoder.forward).parameters)[:len(inputs)]


def dynamic_axes(names: list[str], inputs: tuple[torch.Tensor, ...]) -> dict[str, dict[int, str]]:
    """Every input's first axis (batch, or nodes) is dynamic, and a graph's ``edge_index`` (2, E) its second."""
    axes = {name: {1: "edges"} if name == "edge_index" else {0: f"{name}_rows"} for name in names}
    return {**axes, "features": {0: "rows"}}


def export_onnx(encoder: nn.Module, output: Path, **_) -> Exported:
    """Write ``output`` (``.onnx``) with the encoder's inputs (one ``input``, or ``x``/``edge_index``/... for a
    graph) and one output ``features``, their row axes dynamic."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise ImportError("--format onnx needs onnx and onnxruntime: pip install selfsup-core[export]") from None
    example = example_input(encoder)
    inputs = example if isinstance(example, tuple) else (example,)
    if not all(isinstance(t, torch.Tensor) for t in inputs):
        raise NotExportable(f"encoder {encoder_name(encoder)!r} takes structured inputs, not tensors: no ONNX export "
                            "for it (use --format hf)")
    names = input_names(encoder, inputs)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    encoder = encoder.eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's notes on Python-level shape checks, frozen at export
        torch.onnx.export(encoder, inputs, str(output), input_names=names, output_names=["features"],
                          dynamic_axes=dynamic_axes(names, inputs), opset_version=OPSET, dynamo=False)
        reference = run(encoder, example)
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: not its notes on shapes inferred at export
    session = ort.InferenceSession(str(output), options, providers=["CPUExecutionProvider"])
    got = session.run(None, {name: t.numpy() for name, t in zip(names, inputs, strict=True)})[0]
    diff = compare(reference, got, f"onnx {output}")
    feeds = ", ".join(f'"{name}": {name}' for name in names) if len(names) > 1 else '"input": batch'
    shapes = "; ".join(f"{name}: {t.dtype} ({'x'.join(str(d) for d in t.shape)})" for name, t in zip(
        names if len(names) > 1 else ["batch"], inputs, strict=True))
    snippet = (f'import onnxruntime\nsession = onnxruntime.InferenceSession("{output}")\n'
               "features = session.run(None, {" + feeds + "})[0]  # e.g. " + shapes)
    return Exported("onnx", output, snippet, diff)
