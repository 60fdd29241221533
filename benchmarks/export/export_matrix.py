"""Every registered encoder through every export format: the largest |difference| between the reloaded export and
the selfsup encoder on a random batch, or why the format refuses it. Encoders are built with random weights (the
check does not depend on training) at their registered defaults, or the smallest arguments they need.

    python benchmarks/export/export_matrix.py [--output benchmarks/results/export-matrix-cpu.md]
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import torch

from selfsup.core import registry
from selfsup.core.export import NotExportable, domain_of, export_encoder, formats

# the arguments an encoder cannot do without (everything else at its registered default)
NEEDS = {"mlp": {"in_dim": 16}, "gnn_node": {"kind": "gcn", "in_dim": 16, "hidden": 64},
         "gnn_pooled": {"kind": "gin", "in_dim": 16, "hidden": 64},
         "tabular_mlp": {"num_numeric": 6, "cardinalities": [4, 3]},
         "tabular_ft_transformer": {"num_numeric": 6, "cardinalities": [4, 3]}}
EXTRA = {"gnn_node/gat": ("gnn_node", {"kind": "gat", "in_dim": 16, "hidden": 64, "heads": 4}),
         "gnn_node/gin": ("gnn_node", {"kind": "gin", "in_dim": 16, "hidden": 64}),
         "resnet18/imagenet-stem": ("resnet18", {"image_size": 64, "cifar_stem": False}),
         "resnet50/imagenet-stem": ("resnet50", {"image_size": 64, "cifar_stem": False})}
SKIP = {"gnn_graph": "takes a built node encoder, not arguments: save gnn_pooled instead"}


def _field(fmt: str) -> str:
    """The package that owns a format (``core`` for hf and onnx)."""
    module = registry.get("exporter", fmt).__module__.split(".")
    return module[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/export-matrix-cpu.md"))
    args = parser.parse_args()
    fmts = formats()
    cases = {name: (name, NEEDS.get(name, {})) for name in registry.available("encoder") if name not in SKIP}
    cases.update(EXTRA)
    rows, refusals = [], {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for label, (name, kwargs) in sorted(cases.items()):
            torch.manual_seed(0)
            encoder = registry.create_encoder(name, **kwargs).eval()
            cells = []
            for fmt in fmts:
                try:
                    (done,) = export_encoder(encoder, [fmt], Path(tmp) / label.replace("/", "-") / fmt)
                    cells.append(f"{done.max_abs_diff:.1e}")
                except NotExportable as err:
                    if _field(fmt) in (domain_of(encoder), "core"):  # another field's format: no reason to list
                        refusals.setdefault(str(err), []).append(f"{label}/{fmt}")
                    cells.append("-")
                except Exception as err:  # a failure is a result here: print it, keep going
                    cells.append(f"FAILED ({type(err).__name__})")
                    print(label, fmt, type(err).__name__, err)
            rows.append(f"| {label} | " + " | ".join(cells) + " |")
            print(rows[-1], flush=True)
    lines = ["# Export formats x encoders: max |difference| after reloading (CPU, fp32)", "",
             f"`python benchmarks/export/export_matrix.py` on {platform.processor() or platform.machine()}, "
             f"torch {torch.__version__}, {time.perf_counter() - started:.0f} s. Each cell: the largest absolute "
             "difference between the selfsup encoder and the export loaded back the target library's way, on a random "
             "batch (an export fails past 1e-4 times the outputs' largest magnitude, at least 1: untrained ResNet-34/50"
             " features reach the hundreds); `-`: the format does not take the encoder (below: the refusals within the "
             "encoder's own field; the other dashes are another field's format). Random "
             "weights at the registered defaults (or the arguments listed in the script).", "",
             "| encoder | " + " | ".join(fmts) + " |", "|---|" + "---|" * len(fmts), *rows, "", "## Refusals", ""]
    for reason, where in sorted(refusals.items(), key=lambda item: -len(item[1])):
        lines.append(f"- {reason} ({len(where)}: {', '.join(where[:8])}{' ...' if len(where) > 8 else ''})")
    args.output.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
