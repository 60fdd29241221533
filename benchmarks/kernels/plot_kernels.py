"""Plots of a kernel benchmark result (``kernels-<device>.json``): time and peak memory against problem size.

One row of panels per loss and fixed dimensions (``symmetric InfoNCE, D=256``), the size being the first
dimension of the row's shape (N, 2B or S); only groups measured at two sizes or more are drawn. Log-log axes, one
line per variant; a variant that ran out of memory or failed has no point there.

    python benchmarks/kernels/plot_kernels.py benchmarks/results/kernels-cpu.json   # writes kernels-cpu.png
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def _parse_shape(shape: str) -> tuple[str, int, str]:
    """``"N=4096 D=256"`` -> ``("N", 4096, "D=256")``: the size's name, the size, the fixed dimensions."""
    first, *rest = shape.split()
    name, value = first.split("=")
    return name, int(value), " ".join(rest)


def _metrics(device: str) -> tuple[tuple[str, str], tuple[str, str]]:
    """``((time key, its label), (memory key, its label))`` of a result's rows."""
    if device == "cpu":
        return ("median_s", "median s (fwd+bwd)"), ("peak_rss_mib", "peak RSS above inputs, MiB")
    return ("ms", "median ms (fwd+bwd)"), ("peak_mib", "peak memory above inputs, MiB")


def series(result: dict) -> dict[tuple[str, str, str], dict[str, list[tuple[int, float, float | None]]]]:
    """``{(kind, size name, fixed dims): {variant: [(size, time, memory), ...]}}`` for groups with two sizes or
    more, sizes ascending; rows without a measured time (an error, OOM) are left out, and a memory that is not a
    number (``"OOM"``) is ``None``."""
    (time_key, _), (memory_key, _) = _metrics(result["device"])
    groups: dict = defaultdict(lambda: defaultdict(list))
    for row in result["rows"]:
        if not isinstance(row.get(time_key), (int, float)):
            continue
        size_name, size, fixed = _parse_shape(row["shape"])
        memory = row.get(memory_key)
        groups[row["kind"], size_name, fixed][row["variant"]].append(
            (size, float(row[time_key]), float(memory) if isinstance(memory, (int, float)) else None))
    out = {}
    for key, variants in groups.items():
        if len({size for points in variants.values() for size, _, _ in points}) >= 2:
            out[key] = {variant: sorted(points) for variant, points in variants.items()}
    return out


def plot(result: dict, path: Path) -> Path | None:
    """Draw ``result``'s groups into ``path`` (PNG); None (nothing written) when no group has two sizes."""
    groups = series(result)
    if not groups:
        return None
    (_, time_label), (_, memory_label) = _metrics(result["device"])
    fig, axes = plt.subplots(len(groups), 2, figsize=(13, 4.2 * len(groups)), squeeze=False)
    for (ax_time, ax_memory), ((kind, size_name, fixed), variants) in zip(axes, groups.items(), strict=True):
        for variant, points in variants.items():
            sizes = [p[0] for p in points]
            ax_time.plot(sizes, [p[1] for p in points], marker="o", label=variant)
            measured = [(p[0], p[2]) for p in points if p[2] is not None and p[2] > 0]
            ax_memory.plot([m[0] for m in measured], [m[1] for m in measured], marker="o", label=variant)
        for ax, label in ((ax_time, time_label), (ax_memory, memory_label)):
            ax.set(xscale="log", yscale="log", xlabel=size_name, ylabel=label, title=f"{kind}, {fixed}".rstrip(", "))
            ax.grid(True, which="both", alpha=0.3)
        ax_time.legend(fontsize=7)
    height = fig.get_figheight()
    fig.suptitle(f"Kernel benchmark on {result['device']}")
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.4 / height))  # the title's 0.4 inch kept free
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str]) -> None:
    for name in argv:
        source = Path(name)
        written = plot(json.loads(source.read_text()), source.with_suffix(".png"))
        print(written or f"{source}: no loss measured at two sizes, nothing to plot")


if __name__ == "__main__":
    main(sys.argv[1:])
