"""Cross-modal suite: pretrain one Transformer trunk with MAE on the source domain (images), move it to
the other installed domains, and compare with the same model from scratch and with in-domain SSL.

    selfsup bench crossmodal [--preset smoke|default|full|gpu] [--source vision] [--targets audio,...]
                             [--data-root DOMAIN=DIR ...] [--seeds N] [--no-joint] [--output DIR]

Only the trunk moves (``export_trunk``/``import_trunk``): each domain keeps its own tokenizer, as AST
kept its own patch embedding when it started from image weights. Rows per target domain, all scored by
that domain suite's frozen probes:

- ``random init``: the target encoder untrained;
- ``source trunk, frozen``: the source MAE trunk under the target's (untrained) tokenizer, no target training;
- ``in-domain MAE (from scratch)``: the target's MAE from random init for its recipe's steps;
- ``source trunk + in-domain MAE``: the same MAE starting from the source trunk;
- ``joint MAE``: one trunk trained on source and target batches at once (a modality embedding each,
  the sum of both MAE losses), as many steps as the in-domain run; scored on both domains.

Each domain registers its task with ``register_transfer`` (see :mod:`selfsup.core.bench.transfer`).
Writes ``results.json`` (``rows``), ``results.md`` and ``results.png`` under ``--output``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from selfsup.core import registry
from selfsup.core.bench.suite import bar_chart
from selfsup.core.bench.transfer import JointMethod, PairedDataset, TransferTask, pretrain, share_trunk, trunk_of
from selfsup.core.bench.versus import markdown_table, sample_std
from selfsup.core.trunk.transfer import check_trunk_sizes

PRESETS = ("smoke", "default", "gpu")


def parse_data_roots(pairs: list[str]) -> dict[str, Path]:
    """``["audio=../data/fsdd", ...]`` -> ``{"audio": Path(...)}``; each folder must exist."""
    roots = {}
    for pair in pairs:
        domain, sep, folder = pair.partition("=")
        if not sep or not domain or not folder:
            raise ValueError(f"--data-root takes DOMAIN=DIR (e.g. audio=data/fsdd), got {pair!r}")
        if not Path(folder).is_dir():
            raise FileNotFoundError(f"--data-root {domain}={folder}: not a folder")
        roots[domain] = Path(folder)
    return roots


def load_tasks(source: str, targets: list[str] | None, preset: str, roots: dict[str, Path], seed: int
               ) -> tuple[TransferTask, list[TransferTask]]:
    available = registry.available("transfer")
    if source not in available:
        raise ValueError(f"no cross-modal task for source {source!r}; installed: {available} "
                         f"(install selfsup-{source})")
    targets = targets if targets is not None else [d for d in available if d != source]
    missing = [t for t in targets if t not in available]
    if missing or source in targets:
        raise ValueError(f"targets must be installed domains other than the source {source!r}; "
                         f"installed: {available}, asked for {targets}")
    if not targets:
        raise ValueError(f"cross-modal transfer needs a second domain with a task; installed: {available}")
    unknown = set(roots) - {source, *targets}
    if unknown:
        raise ValueError(f"--data-root names domains that are not in this run: {sorted(unknown)}")

    def make(domain: str) -> TransferTask:
        return registry.get("transfer", domain)(preset=preset, data_root=roots.get(domain), seed=seed)

    return make(source), [make(t) for t in targets]


def _scores(task: TransferTask, encoder, device) -> dict[str, float]:
    scores = task.evaluate(encoder, device)
    return {m: float(scores[m]) for m in task.metrics}


def run_seed(source: TransferTask, targets: list[TransferTask], seed: int, device, progress: bool, joint: bool
             ) -> list[dict]:
    """One seed's rows: ``{domain, init, training, steps, wall_s, metrics...}``."""
    rows = []

    def row(task: TransferTask, init: str, training: str, encoder, stats: dict | None = None) -> None:
        rows.append({"domain": task.domain, "init": init, "training": training, "steps": (stats or {}).get("steps", 0),
                     "wall_s": (stats or {}).get("wall_s"), **_scores(task, encoder, device)})
        print(f"  {task.domain:8s} {init:28s} {training:34s} "
              + " ".join(f"{m}={rows[-1][m]:.4f}" for m in task.metrics), flush=True)

    torch.manual_seed(seed)
    random_source = source.make_encoder()
    row(source, "random init", "none", random_source)
    torch.manual_seed(seed)
    source_encoder = source.make_encoder()
    source_stats = pretrain(source, source.make_method(source_encoder), device=device, seed=seed, progress=progress)
    row(source, "random init", f"{source.domain} {source.method_name} (in-domain)", source_encoder, source_stats)
    trunk = trunk_of(source_encoder.cpu())
    source_trunk = {"config": trunk.config.shape(), "state": {k: v.clone() for k, v in trunk.state_dict().items()}}
    for target in targets:
        torch.manual_seed(seed)
        row(target, "random init", "none", target.make_encoder())
        torch.manual_seed(seed)
        transferred = _with_trunk(target.make_encoder(), source_trunk)
        row(target, f"{source.domain} {source.method_name} trunk", "none (frozen transfer)", transferred)
        torch.manual_seed(seed)
        scratch = target.make_encoder()
        stats = pretrain(target, target.make_method(scratch), device=device, seed=seed, progress=progress)
        row(target, "random init", f"{target.domain} {target.method_name} (in-domain)", scratch, stats)
        stats = pretrain(target, target.make_method(transferred), device=device, seed=seed, progress=progress)
        row(target, f"{source.domain} {source.method_name} trunk", f"{target.domain} {target.method_name} (in-domain)",
            transferred, stats)
        if joint:
            torch.manual_seed(seed)
            encoders = {source.domain: source.make_encoder(), target.domain: target.make_encoder()}
            share_trunk(list(encoders.values()))
            method = JointMethod({source.domain: source.make_method(encoders[source.domain]),
                                  target.domain: target.make_method(encoders[target.domain])})
            stats = pretrain(target, method, dataset=PairedDataset(source.train_set, target.train_set),
                             collate_fn=PairedDataset.collate_with(source.collate_fn, target.collate_fn),
                             max_steps=target.epochs * target.steps_per_epoch, device=device, seed=seed,
                             progress=progress)
            training = (f"joint {source.domain} {source.method_name} + {target.domain} {target.method_name}"
                        if source.method_name != target.method_name else
                        f"joint {source.domain}+{target.domain} {target.method_name}")
            row(target, "random init", training, encoders[target.domain], stats)
            row(source, "random init", training, encoders[source.domain], stats)
    return rows


def _with_trunk(encoder, source: dict):
    """``encoder`` with the source trunk's weights (``source``: ``{"config": TrunkConfig.shape(), "state": ...}``).
    Prefix tokens only one side has (a register token) and modality embeddings stay the target's own."""
    trunk = trunk_of(encoder)
    check_trunk_sizes(source["config"], trunk, "of the source domain (give both domains the same trunk size)")
    shared = {k: v for k, v in source["state"].items() if not k.startswith("modality_embed.")
              and k in trunk.state_dict()}
    trunk.load_state_dict(shared, strict=False)
    return encoder


def summarise(per_seed: list[list[dict]], metrics: dict[str, tuple[str, ...]]) -> list[dict]:
    """Rows matched across seeds (same order), metrics as mean and std, per-seed values kept."""
    rows = []
    for group in zip(*per_seed, strict=True):
        first = group[0]
        row = {k: first[k] for k in ("domain", "init", "training", "steps")}
        walls = [r["wall_s"] for r in group if r["wall_s"] is not None]
        row["wall_s"] = round(float(np.mean(walls)), 1) if walls else None
        for m in metrics[first["domain"]]:
            values = [r[m] for r in group]
            row[m], row[f"{m}_std"], row[f"{m}_per_seed"] = (round(float(np.mean(values)), 4),
                                                             round(sample_std(values), 4),
                                                             [round(v, 4) for v in values])
        rows.append(row)
    return rows


def run(args) -> tuple[list[dict], dict]:
    start = time.perf_counter()
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    targets = [t.strip() for t in args.targets.split(",") if t.strip()] if args.targets else None
    roots = parse_data_roots(args.data_root)
    source, tasks = load_tasks(args.source, targets, args.preset, roots, args.seed)
    for task in (source, *tasks):
        print(f"{task.domain}: {task.data}; {task.method_name} {task.epochs} epochs of batch {task.batch_size}",
              flush=True)
    per_seed = []
    for seed in range(args.seed, args.seed + args.seeds):
        print(f"seed {seed}", flush=True)
        per_seed.append(run_seed(source, tasks, seed, device, not args.quiet, not args.no_joint))
    metrics = {t.domain: t.metrics for t in (source, *tasks)}
    meta = {"preset": args.preset, "source": source.domain, "seeds": args.seeds, "seed": args.seed,
            "data": {t.domain: t.data for t in (source, *tasks)}, "metrics": metrics, "torch": torch.__version__,
            "device": torch.cuda.get_device_name(device) if device.type == "cuda" else
            f"CPU ({platform.machine()}, {torch.get_num_threads()} threads)",
            "total_s": round(time.perf_counter() - start, 1)}
    return summarise(per_seed, metrics), meta


def markdown(rows: list[dict], meta: dict) -> str:
    lines = [f"Source {meta['source']}; preset {meta['preset']}; device {meta['device']}; seeds {meta['seeds']} "
             f"(from {meta['seed']}); mean ± std over seeds. Only the Transformer trunk moves between domains; "
             "every score is the domain suite's frozen probe.", ""]
    lines += [f"- {domain}: {data}" for domain, data in meta["data"].items()]
    for domain, metrics in meta["metrics"].items():
        domain_rows = [r for r in rows if r["domain"] == domain]
        columns = ["init", "training", "steps", "wall_s", *metrics]
        lines += ["", f"### {domain}", "", *markdown_table(domain_rows, columns)]
    return "\n".join(lines) + "\n"


def write_outputs(rows: list[dict], meta: dict, output: Path) -> None:
    output.mkdir(parents=True, exist_ok=True)
    (output / "results.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    (output / "results.md").write_text(markdown(rows, meta))
    chart = [{**r, "method": f"{r['domain']}: {r['init']} / {r['training']}", "encoder": r["steps"],
              "main": r[meta["metrics"][r["domain"]][0]]} for r in rows]
    bar_chart(chart, [("main", "main metric of each domain (first column)")], xlabel="frozen-probe score",
              title=f"selfsup cross-modal, source {meta['source']}, preset {meta['preset']}",
              path=output / "results.png")


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(prog="selfsup bench crossmodal", description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=PRESETS, default="default")
    parser.add_argument("--source", default="vision", help="domain whose MAE trunk is transferred")
    parser.add_argument("--targets", default=None, help="comma-separated domains (default: every installed one)")
    parser.add_argument("--data-root", action="append", default=[], metavar="DOMAIN=DIR",
                        help="a domain's data folder (repeatable); domains without one use their embedded data")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-joint", action="store_true", help="skip the joint two-modality pretraining rows")
    parser.add_argument("--device", default=None)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--output", type=Path, default=Path("out/bench-crossmodal"))
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error("--seeds must be >= 1")
    rows, meta = run(args)
    write_outputs(rows, meta, args.output)
    print((args.output / "results.md").read_text())
    return rows


if __name__ == "__main__":
    main()
