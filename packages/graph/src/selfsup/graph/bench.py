"""Graph suite: pretrain each method on the unlabelled graph, freeze, probe node (and graph) classes.

    selfsup bench graph [--preset smoke|default|full|gpu] [--methods grace,bgrl,...] [--data-root DIR] [--output DIR]

``--data-root`` holding Planetoid's raw files benchmarks on ``--dataset`` (Cora by default) with its public
split, or on an OGB node dataset (``--dataset ogbn-arxiv``) with its official split; without it, the embedded
digits kNN graph (``smoke``: a generated SBM graph). Node rows: logistic regression on frozen embeddings,
its regularisation chosen on the validation nodes, test accuracy on the public split and on ``--splits``
random splits (20 labels per class, 500 validation, 1,000 test), over ``--seeds`` pretraining seeds.
Baselines on the same splits: raw features, the random-init encoder of each method, a supervised GCN.
Graph-level methods (GraphCL) run on the TU datasets named by ``--tu`` (files under ``--data-root``) or on
generated SBM graphs, with 10-fold cross-validated probes. Writes ``results.json``, ``results.md``, ``results.png``.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from selfsup.core.bench import add_pretraining_flags, bar_chart, parse_methods, run_suite, suite_parser
from selfsup.core.bench.versus import VERSUS, markdown_table, sample_std, versus_best_baseline
from selfsup.core.eval import rankme
from selfsup.graph.build import GRAPH_METHODS, METHODS, NODE_METHODS, RECIPES, build_encoder, build_method
from selfsup.graph.datasets import (
    digits_knn_graph,
    load_ogb_node,
    load_planetoid,
    load_tu,
    random_node_split,
    sbm_graph,
    sbm_graph_classification,
)
from selfsup.graph.pretrain import embed_graphs, embed_nodes, pretrain_graphs, pretrain_nodes
from selfsup.graph.probes import graph_probe, node_probe
from selfsup.graph.supervised import supervised_gcn

PRESETS = {
    "smoke": {"seeds": 1, "splits": 2, "epoch_scale": 0.05, "graphs": 60},
    # the main job's share of 15 minutes on 2 CPU cores: GRACE and GraphCL at a quarter of their epochs
    "default": {"seeds": 3, "splits": 1, "epoch_scale": 0.25, "graphs": 100, "methods": ("grace", "graphcl")},
    "full": {"seeds": 3, "splits": 10, "epoch_scale": 1.0, "graphs": 300},
    "gpu": {"seeds": 5, "splits": 10, "epoch_scale": 1.0, "graphs": 600},
}


def load_node_data(args) -> tuple:
    if args.data_root is None:
        if args.preset == "smoke":
            return sbm_graph(seed=args.seed), "SBM graph (generated, 5 communities x 120 nodes)"
        return digits_knn_graph(seed=args.seed), "digits 10-NN graph (embedded: 1,797 real digit images)"
    if args.dataset.lower().startswith("ogbn"):
        return load_ogb_node(args.data_root, args.dataset), f"{args.dataset} (official split)"
    data = load_planetoid(args.data_root, args.dataset)
    return data, f"{args.dataset} (public split {int(data.train_mask.sum())}/{int(data.val_mask.sum())}/" \
                 f"{int(data.test_mask.sum())})"


def describe(encoder) -> str:
    node = getattr(encoder, "node_encoder", encoder)
    return f"{node.kind} {node.num_layers}x{node.hidden}"


def _epochs(method: str, preset: dict, args) -> int:
    return args.epochs or max(2, round(RECIPES[method]["train"]["epochs"] * preset["epoch_scale"]))


def node_scores(embeddings: torch.Tensor, data, splits) -> dict:
    public = node_probe(embeddings, data.y, data.train_mask, data.val_mask, data.test_mask)["test"]
    random = [node_probe(embeddings, data.y, *s)["test"] for s in splits]
    return {"public": public, "random": random}


def _summarise(per_seed: list[dict]) -> dict:
    public = [s["public"] for s in per_seed]
    random = [a for s in per_seed for a in s["random"]]
    return {"public": round(float(np.mean(public)), 4), "public_std": round(sample_std(public), 4),
            "random_splits": round(float(np.mean(random)), 4), "random_splits_std": round(sample_std(random), 4),
            "public_per_seed": [round(p, 4) for p in public]}


def pretrain_node_method(method_name: str, data, seed: int, epochs: int, args, device) -> tuple:
    torch.manual_seed(seed)
    encoder = build_encoder(method_name, data.num_features)
    method = build_method(method_name, encoder)
    train = {k: v for k, v in RECIPES[method_name]["train"].items() if k != "epochs"}
    mini_batch = {}
    if args.batch_size:
        mini_batch = {"batch_size": args.batch_size, "num_neighbors": [int(k) for k in args.num_neighbors.split(",")]}
    summary = pretrain_nodes(method, data, epochs=epochs, seed=seed, progress=not args.quiet, device=device,
                             **train, **mini_batch)
    return encoder.cpu(), summary


def run_node_rows(data, data_name: str, methods: list[str], preset: dict, args, device) -> list[dict]:
    splits = [random_node_split(data.y, seed=s) for s in range(preset["splits"])]
    seeds = range(args.seed, args.seed + (args.seeds or preset["seeds"]))
    common = {"task": "node", "data": data_name}
    rows = []
    if not args.no_baselines:
        rows.append({"method": "raw features (baseline)", "encoder": f"none ({data.num_features} values)",
                     "epochs": 0, **common, **_summarise([node_scores(data.x, data, splits)])})
        _report(rows[-1])
        for name in dict.fromkeys(describe(build_encoder(m, data.num_features)) for m in methods):
            method = next(m for m in methods if describe(build_encoder(m, data.num_features)) == name)
            per_seed = []
            for seed in seeds:
                torch.manual_seed(seed)
                per_seed.append(node_scores(embed_nodes(build_encoder(method, data.num_features), data), data, splits))
            rows.append({"method": "random init (baseline)", "encoder": name, "epochs": 0, **common,
                         **_summarise(per_seed)})
            _report(rows[-1])
        per_seed = []
        for seed in seeds:
            public = supervised_gcn(data, data.train_mask, data.val_mask, data.test_mask, seed=seed)["test"]
            random = [supervised_gcn(data, *s, seed=seed)["test"] for s in splits] if seed == seeds[0] else []
            per_seed.append({"public": public, "random": random})
        rows.append({"method": "supervised GCN (baseline)", "encoder": "gcn 2x64, row-normalised features (Kipf & "
                     "Welling)", "epochs": 200, **common,
                     **_summarise(per_seed)})
        _report(rows[-1])
    for method in methods:
        epochs = _epochs(method, preset, args)
        per_seed, walls, peaks, ranks = [], [], [], []
        for seed in seeds:
            encoder, summary = pretrain_node_method(method, data, seed, epochs, args, device)
            embeddings = embed_nodes(encoder, data)
            per_seed.append(node_scores(embeddings, data, splits))
            walls.append(summary["wall_s"])
            peaks.append(summary["peak_memory_mib"])
            ranks.append(float(rankme(embeddings)))
        rows.append({"method": method, "encoder": describe(encoder), "epochs": epochs, **common,
                     "wall_s": round(float(np.mean(walls)), 1), "s_per_epoch": round(float(np.mean(walls)) / epochs, 3),
                     "peak_memory_mib": round(max(peaks), 1), "rankme": round(float(np.mean(ranks)), 2),
                     "mini_batch": bool(args.batch_size), **_summarise(per_seed)})
        _report(rows[-1])
    return rows


def load_graph_sets(args, preset: dict) -> list[tuple[str, list]]:
    if args.tu:
        return [(f"{name} (TU)", load_tu(args.data_root, name)) for name in args.tu.split(",")]
    return [(f"SBM graphs (generated, {preset['graphs']}, label = 2/3/4 communities)",
             sbm_graph_classification(preset["graphs"], seed=args.seed))]


def run_graph_rows(methods: list[str], preset: dict, args, device) -> list[dict]:
    rows = []
    seeds = range(args.seed, args.seed + (args.seeds or preset["seeds"]))
    for data_name, graphs in load_graph_sets(args, preset):
        labels = torch.cat([g.y.view(-1) for g in graphs])
        common = {"task": "graph", "data": data_name}
        if not args.no_baselines:
            pooled = torch.stack([g.x.sum(0) for g in graphs])
            rows.append({"method": "raw features, sum-pooled (baseline)", "encoder": f"none ({pooled.shape[1]} values)",
                         "epochs": 0, **common, **_graph_summary([graph_probe(pooled, labels, seed=args.seed)])})
            _report(rows[-1])
        for method in methods:
            epochs = _epochs(method, preset, args)
            random_scores, scores, walls = [], [], []
            for seed in seeds:
                torch.manual_seed(seed)
                encoder = build_encoder(method, graphs[0].num_features)
                random_scores.append(graph_probe(embed_graphs(encoder, graphs), labels, seed=seed))
                train = {k: v for k, v in RECIPES[method]["train"].items() if k != "epochs"}
                summary = pretrain_graphs(build_method(method, encoder), graphs, epochs=epochs, seed=seed,
                                          progress=not args.quiet, device=device, **train)
                scores.append(graph_probe(embed_graphs(encoder.cpu(), graphs), labels, seed=seed))
                walls.append(summary["wall_s"])
            if not args.no_baselines:
                rows.append({"method": "random init (baseline)", "encoder": describe(encoder), "epochs": 0, **common,
                             **_graph_summary(random_scores)})
                _report(rows[-1])
            rows.append({"method": method, "encoder": describe(encoder), "epochs": epochs, **common,
                         "wall_s": round(float(np.mean(walls)), 1), **_graph_summary(scores)})
            _report(rows[-1])
    return rows


def _graph_summary(scores: list[dict]) -> dict:
    acc = [s["accuracy"] for s in scores]
    return {"graph": round(float(np.mean(acc)), 4), "graph_std": round(sample_std(acc), 4)}


def _report(row: dict) -> None:
    parts = [f"{row['method']:36s} {row['encoder']:12s}"]
    if "public" in row:
        parts.append(f"public={row['public']:.4f}±{row['public_std']:.4f} "
                     f"random splits={row['random_splits']:.4f}±{row['random_splits_std']:.4f}")
    if "graph" in row:
        parts.append(f"graph={row['graph']:.4f}±{row['graph_std']:.4f}")
    if "wall_s" in row:
        parts.append(f"({row['wall_s']} s/seed)")
    print(" ".join(parts), flush=True)


def run(args) -> tuple[list[dict], dict]:
    preset = PRESETS[args.preset]
    start = time.perf_counter()
    methods = parse_methods(args.methods, METHODS, preset.get("methods"))
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    rows = []
    node_methods = [m for m in methods if m in NODE_METHODS]
    if node_methods:
        data, data_name = load_node_data(args)
        print(f"data: {data_name}: {data.num_nodes} nodes, {data.num_edges} edges, {data.num_features} features",
              flush=True)
        rows += run_node_rows(data, data_name, node_methods, preset, args, device)
    graph_methods = [m for m in methods if m in GRAPH_METHODS]
    if graph_methods:
        rows += run_graph_rows(graph_methods, preset, args, device)
        versus_best_baseline(rows, "graph", where=lambda row: row["task"] == "graph")
    meta = {"preset": args.preset, "seed": args.seed, "seeds": args.seeds or preset["seeds"],
            "splits": preset["splits"], "torch": torch.__version__,
            "device": torch.cuda.get_device_name(device) if str(device).startswith("cuda") else
            f"CPU ({platform.machine()}, {torch.get_num_threads()} threads)",
            "total_s": round(time.perf_counter() - start, 1)}
    return rows, meta


COLUMNS = ["method", "encoder", "data", "epochs", "wall_s", "s_per_epoch", "peak_memory_mib", "rankme", "public",
           "random_splits", "graph", VERSUS]


def write_outputs(rows: list[dict], meta: dict, output: Path) -> None:
    output.mkdir(parents=True, exist_ok=True)
    (output / "results.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    lines = [f"Preset {meta['preset']}; device {meta['device']}; pretraining seeds {meta['seeds']} (from "
             f"{meta['seed']}); node probes: logistic regression with C chosen on validation; public = the dataset's "
             f"split, random_splits = {meta['splits']} random 20-per-class splits; mean ± std over seeds (and splits); "
             f"graph = 10-fold cross-validated accuracy; {VERSUS.replace('_', ' ')}: public (node rows) or graph "
             "(graph rows) minus the best baseline's, ± the spread over seeds.", "",
             *markdown_table(rows, COLUMNS)]
    (output / "results.md").write_text("\n".join(lines) + "\n")
    node_rows = [r for r in rows if r["task"] == "node"]
    if node_rows:
        bar_chart(node_rows, [("public", "public split"), ("random_splits", "random splits")],
                  xlabel="linear-probe test accuracy", title=f"selfsup graph, {node_rows[0]['data']}",
                  path=output / "results.png")
    graph_rows = [r for r in rows if r["task"] == "graph"]
    if graph_rows:
        bar_chart(graph_rows, [("graph", "10-fold CV accuracy")], xlabel="graph classification accuracy",
                  title=f"selfsup graph, {graph_rows[0]['data']}",
                  path=output / ("results-graph.png" if node_rows else "results.png"))


def main(argv: list[str] | None = None) -> list[dict]:
    parser = suite_parser("graph", __doc__, PRESETS, methods_help=f"comma-separated, from {list(METHODS)}",
                          data_root_help="folder with Planetoid raw files (Cora/raw/ind.cora.*), an OGB node "
                                         "dataset, or TU datasets")
    parser.add_argument("--dataset", default="Cora", help="Planetoid name or ogbn-* (with --data-root)")
    parser.add_argument("--tu", default=None, help="comma-separated TU datasets under --data-root for GraphCL")
    parser.add_argument("--seeds", type=int, default=None, help="pretraining seeds (preset's by default)")
    parser.add_argument("--num-neighbors", default="10,10",
                        help="neighbours sampled per layer when --batch-size asks for mini-batch pretraining")
    add_pretraining_flags(parser, baselines="the raw-feature, random-init and supervised rows")
    return run_suite(parser, argv, run, write_outputs, headline=("public", True))


if __name__ == "__main__":
    main()
