"""What every ``selfsup bench <suite>`` shares: the flags of the suite contract (DESIGN.md)."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path

from selfsup.core.extras import pyplot


def suite_parser(suite: str, doc: str, presets: Iterable[str], *, methods_help: str = "comma-separated, or all",
                 data_root_help: str = "folder with the suite's data files") -> argparse.ArgumentParser:
    """``--preset`` (default ``default``), ``--methods``, ``--data-root`` and ``--output`` (default
    ``out/bench-<suite>``); the suite adds its own flags to the returned parser."""
    parser = argparse.ArgumentParser(prog=f"selfsup bench {suite}", description=doc.split("\n\n")[0])
    parser.add_argument("--preset", choices=sorted(presets), default="default")
    parser.add_argument("--methods", default="all", help=methods_help)
    parser.add_argument("--data-root", type=Path, default=None, help=data_root_help)
    parser.add_argument("--output", type=Path, default=Path(f"out/bench-{suite}"))
    return parser


def add_pretraining_flags(parser: argparse.ArgumentParser, *, baselines: str = "the baseline rows") -> None:
    """The flags of suites that pretrain with the Trainer: ``--epochs``, ``--batch-size``, ``--checkpoints``,
    ``--device``, ``--seed``, ``--quiet``, ``--no-baselines``."""
    parser.add_argument("--epochs", type=int, default=None, help="override the preset's pretraining epochs")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--checkpoints", default=None, help="keep the checkpoints in this folder, a sub-folder per "
                                                            "method and seed, replaced by a rerun (default: temporary)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--no-baselines", action="store_true", help=f"skip {baselines}")


def bar_chart(rows: list[dict], series: list[tuple[str, str]], *, xlabel: str, title: str, path: Path) -> None:
    """One horizontal group of bars per row (``method (encoder)``), one bar per ``(key, label)`` series;
    saved as a PNG at ``path``."""
    import numpy as np

    plt = pyplot()

    fig, ax = plt.subplots(figsize=(10, 0.45 * len(rows) * max(1, len(series) / 2) + 1.5))
    ypos = np.arange(len(rows))
    width = 0.8 / len(series)
    for i, (key, label) in enumerate(series):
        ax.barh(ypos + (i - (len(series) - 1) / 2) * width, [r[key] for r in rows], width, label=label)
    ax.set_yticks(ypos, [f"{r['method']} ({r['encoder']})" for r in rows], fontsize=8)
    ax.set_xlabel(xlabel)
    ax.invert_yaxis()
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run_suite(parser: argparse.ArgumentParser, argv: list[str] | None, run, write_outputs) -> list[dict]:
    """Parse ``argv``, check ``--data-root``, ``rows, meta = run(args)``, ``write_outputs(rows, meta, output)``,
    print the Markdown table and return the rows."""
    args = parser.parse_args(argv)
    if args.data_root is not None and not args.data_root.is_dir():
        parser.error(f"--data-root {args.data_root} is not a folder")
    pyplot(f"selfsup-{parser.prog.split()[-1]}")  # before the runs: a missing plotting extra fails now, not after
    rows, meta = run(args)
    write_outputs(rows, meta, args.output)
    print((args.output / "results.md").read_text())
    return rows


def parse_methods(spec: str, known: Iterable[str]) -> list[str]:
    """``--methods``: ``"all"`` or comma-separated names, each of ``known`` (else a ValueError naming them)."""
    known = list(known)
    methods = known if spec == "all" else [m.strip() for m in spec.split(",") if m.strip()]
    unknown = [m for m in methods if m not in known]
    if unknown or not methods:
        raise ValueError(f"unknown methods {unknown or spec!r}; choose from {known}")
    return methods


def checkpoint_folder(args: argparse.Namespace, temporary: str, *run: object) -> dict:
    """TrainConfig's ``output_dir`` (and ``overwrite``) for one pretraining run of a suite: ``--checkpoints/<run>``,
    which a rerun of the suite replaces, or the ``temporary`` folder."""
    if not args.checkpoints:
        return {"output_dir": temporary}
    return {"output_dir": str(Path(args.checkpoints).joinpath(*map(str, run))), "overwrite": True}
