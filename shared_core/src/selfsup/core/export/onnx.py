"""``--format onnx``: the encoder traced by ``torch.onnx.export`` (TorchScript exporter, opset 17, a dynamic batch
axis), then run by ONNX Runtime on a random batch and compared with PyTorch. Needs ``onnx`` and ``onnxruntime``
(``pip install selfsup-core[export]``)."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

from selfsup.core.export.base import Exported, NotExportable, compare, encoder_name, example_input

OPSET = 17


def export_onnx(encoder: nn.Module, output: Path, **_) -> Exported:
    """Write ``output`` (``.onnx``) with one input ``input`` and one output ``features``, both batch-dynamic."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise ImportError("--format onnx needs onnx and onnxruntime: pip install selfsup-core[export]") from None
    inputs = example_input(encoder)
    if not isinstance(inputs, torch.Tensor):
        raise NotExportable(f"encoder {encoder_name(encoder)!r} takes structured inputs, not one tensor: no ONNX "
                            "export for it yet (use --format hf)")
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    encoder = encoder.eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's notes on Python-level shape checks, frozen at export
        torch.onnx.export(encoder, (inputs,), str(output), input_names=["input"], output_names=["features"],
                          dynamic_axes={"input": {0: "batch"}, "features": {0: "batch"}}, opset_version=OPSET,
                          dynamo=False)
        reference = encoder(inputs)
    session = ort.InferenceSession(str(output), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": inputs.numpy()})[0]
    diff = compare(reference, got, f"onnx {output}")
    shape = "x".join(str(s) for s in inputs.shape[1:])
    snippet = (f'import onnxruntime\nsession = onnxruntime.InferenceSession("{output}")\n'
               f'features = session.run(None, {{"input": batch}})[0]  # batch: float32 (B, {shape})')
    return Exported("onnx", output, snippet, diff)
