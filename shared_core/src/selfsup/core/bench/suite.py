"""What every ``selfsup bench <suite>`` shares: the flags of the suite contract (DESIGN.md)."""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
from pathlib import Path

from selfsup.core.extras import pyplot


def suite_parser(suite: str, doc: str, presets: Iterable[str], *, methods_help: str = "comma-separated, or all",
                 data_root_help: str = "folder with the suite's data files") -> argparse.ArgumentParser:
    """``--preset`` (default ``default``), ``--methods``, ``--data-root`` and ``--output`` (default
    ``out/bench-<suite>``); the suite adds its own flags to the returned parser."""
    parser = argparse.ArgumentParser(prog=f"selfsup bench {suite}", description=doc.split("\n\n")[0])
    parser.add_argument("--preset", choices=sorted(presets), default="default")
    parser.add_argument("--methods", default=None, help=f"{methods_help} (default: the preset's; 'all' for every one)")
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
    """One horizontal group of bars per row (``method (encoder)``), one bar per ``(key, label)`` series, with the
    seeds' spread (``key_std``) as error bars and a dashed line at the best baseline row of each series
    (:mod:`.versus`); the legend sits under the axes, off the data. Saved as a PNG at ``path``."""
    import numpy as np

    from selfsup.core.bench.versus import is_baseline

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(rows) * max(1, len(series) / 2) + 2.2))
    ypos = np.arange(len(rows))
    width = 0.8 / len(series)
    values = []
    for i, (key, label) in enumerate(series):
        heights = [r.get(key) if isinstance(r.get(key), (int, float)) else np.nan for r in rows]
        errors = [r.get(f"{key}_std") or 0.0 for r in rows]
        bars = ax.barh(ypos + (i - (len(series) - 1) / 2) * width, heights, width, xerr=errors, label=label,
                       error_kw={"elinewidth": 0.8, "capsize": 2})
        base = [h for r, h in zip(rows, heights, strict=True) if is_baseline(r) and not np.isnan(h)]
        if base:
            ax.axvline(max(base), color=bars.patches[0].get_facecolor(), linestyle="--", linewidth=1,
                       label=f"best baseline, {label}")
        values += [h for h in heights if not np.isnan(h)]
    if values and min(values) >= 0:
        lo, hi = min(values), max(values)
        ax.set_xlim(max(0.0, lo - 0.1 * (hi - lo + 1e-9) - 0.02), hi + 0.05 * (hi - lo + 1e-9) + 0.01)
    ax.set_yticks(ypos, [f"{r['method']} ({r['encoder']})" for r in rows], fontsize=8)
    ax.set_xlabel(xlabel)
    ax.invert_yaxis()
    ax.set_title(title, fontsize=9)
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8, frameon=False)
    legend_rows = (len(labels) + 1) // 2
    fig.tight_layout(rect=(0, min(0.4, 0.3 * legend_rows / fig.get_figheight()), 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run_suite(parser: argparse.ArgumentParser, argv: list[str] | None, run, write_outputs, *,
              presets: dict[str, dict] | None = None, metrics: Sequence[str] = (),
              headline: tuple[str, bool] | None = None) -> list[dict]:
    """Parse ``argv``, check ``--data-root``, ``rows, meta = run(args)``, ``write_outputs(rows, meta, output)``,
    print the Markdown table and return the rows.

    ``presets``: ``run`` covers one seed (``args.seed``); it runs ``--seeds`` times (default: the preset's
    ``"seeds"``) from ``--seed`` on, and the rows are merged into mean ± std over ``metrics``
    (:func:`.versus.merge_seeds`). ``headline=(metric, higher_is_better)``: the rows get the ``vs_best_baseline``
    column on that metric and ``meta["headline"]`` the best SSL row against the best baseline
    (:func:`.versus.versus_best_baseline`), which ``selfsup bench all`` summarises."""
    from selfsup.core.bench.versus import merge_seeds, versus_best_baseline

    if presets is not None:
        parser.add_argument("--seeds", type=int, default=None, help="pretraining seeds, from --seed on "
                                                                    "(default: the preset's)")
    args = parser.parse_args(argv)
    if args.data_root is not None and not args.data_root.is_dir():
        parser.error(f"--data-root {args.data_root} is not a folder")
    pyplot(f"selfsup-{parser.prog.split()[-1]}")  # before the runs: a missing plotting extra fails now, not after
    if presets is None:
        rows, meta = run(args)
    else:
        first, seeds = args.seed, args.seeds or presets[args.preset].get("seeds", 1)
        runs = []
        for seed in range(first, first + seeds):
            args.seed = seed
            rows, meta = run(args)
            runs.append(rows)
        rows = merge_seeds(runs, metrics)
        meta["seed"] = f"{first}..{first + seeds - 1} ({seeds} seeds)" if seeds > 1 else first
    if headline is not None:
        meta["headline"] = versus_best_baseline(rows, headline[0], higher_is_better=headline[1])
    write_outputs(rows, meta, args.output)
    print((args.output / "results.md").read_text())
    return rows


def parse_methods(spec: str | None, known: Iterable[str], preset: Sequence[str] | None = None) -> list[str]:
    """``--methods``: ``"all"`` or comma-separated names, each of ``known`` (else a ValueError naming them);
    ``None``: the ``preset``'s methods (all when it names none)."""
    known = list(known)
    if spec is None:
        spec = ",".join(preset) if preset else "all"
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
