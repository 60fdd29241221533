"""Each graph recipe through the user's command, on Cora written out as a user's files, with the paper's number beside.

    python benchmarks/graph/recipes_on_cora.py --root ../shared/data/graph/planetoid [--recipes grace-cora dgi-cora]

Cora (the Planetoid files) becomes ``edges.csv`` + ``nodes.csv`` (id, the 1,433 word columns, label); each recipe runs
as ``selfsup pretrain graph FOLDER --recipe NAME`` (one process, the recipe's epochs, whole-graph steps); the saved
encoder embeds every node and a logistic regression with C chosen on the public validation split is scored on the
public test split (``selfsup.graph.probes.node_probe``). Paper figures: Cora, public split, linear evaluation, as
the GraphMAE authors tabulate them (github.com/THUDM/GraphMAE README; GRACE's public-split figure from the same
comparison in their paper, Table 1)."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

PAPER = {"grace-cora": "81.9 ± 0.4", "bgrl-cora": "82.7 ± 0.6", "dgi-cora": "82.3 ± 0.6",
         "graphmae-cora": "84.2 ± 0.4", "cca_ssg-cora": "84.0 ± 0.4"}


def write_cora(root: str, folder: Path):
    """Cora as a user's files; returns the Planetoid ``Data`` (node i of the files is node i of the data)."""
    from selfsup.graph.datasets import load_planetoid

    data = load_planetoid(root, "Cora")
    folder.mkdir(parents=True)
    edges = data.edge_index.numpy()
    pd.DataFrame({"source": edges[0], "target": edges[1]}).to_csv(folder / "edges.csv", index=False)
    x = data.x.to_dense().numpy() if data.x.layout != torch.strided else data.x.numpy()
    nodes = pd.DataFrame(x.astype(np.int8), columns=[f"w{j}" for j in range(x.shape[1])])
    nodes.insert(0, "id", np.arange(data.num_nodes))
    nodes["label"] = data.y.numpy()
    nodes.to_csv(folder / "nodes.csv", index=False)
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="../shared/data/graph/planetoid")
    parser.add_argument("--recipes", nargs="+", default=list(PAPER))
    args = parser.parse_args()
    from selfsup.core.hub import load_pretrained
    from selfsup.graph.datasets.edge_list import read_graph
    from selfsup.graph.probes import node_probe

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = write_cora(args.root, Path(tmp) / "cora")
        graph = read_graph(Path(tmp) / "cora")  # what the command trains on: the same nodes, in the same order
        for name in args.recipes:
            run = Path(tmp) / name
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "selfsup.core", "pretrain", "graph", str(Path(tmp) / "cora"),
                            "--recipe", name, "--output", str(run), "--no-progress"], check=True)
            wall = time.perf_counter() - start
            encoder = load_pretrained(run / "encoder").eval()
            with torch.no_grad():
                features = encoder(graph.data.x, graph.data.edge_index)
            score = node_probe(features, data.y, data.train_mask, data.val_mask, data.test_mask)
            rows.append((name, f"{100 * score['test']:.1f}", PAPER.get(name, "-"), f"{wall:.0f}"))
            print(rows[-1], flush=True)
    print("\n| recipe | ours: test accuracy % (1 run) | paper | wall s (CPU, 2 cores) |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
