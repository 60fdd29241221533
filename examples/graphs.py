"""Graphs: pretrain GRACE on an edge list with node features, embed the nodes, probe them, export to ONNX.

The graph links each of scikit-learn's 1,797 digit images to its 10 nearest neighbours (``edges.csv``), with the
64 pixels as node features (``nodes.csv``; its ``label`` column only scores the probe). About a minute on 2 CPU
cores:

    python examples/graphs.py
"""

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from _probe import probe_accuracy, read_embeddings
from sklearn.datasets import load_digits
from sklearn.neighbors import kneighbors_graph

from selfsup.core.cli import main as selfsup

work = Path(tempfile.mkdtemp(prefix="selfsup-graphs-"))
(work / "digits").mkdir()
digits = load_digits()
nodes = pd.DataFrame(digits.data, columns=[f"pixel{i}" for i in range(64)])
nodes.insert(0, "id", [f"digit{i}" for i in range(len(nodes))])
nodes["label"] = digits.target
nodes.to_csv(work / "digits" / "nodes.csv", index=False)
source, target = kneighbors_graph(digits.data, 10).nonzero()
pd.DataFrame({"source": nodes["id"].to_numpy()[source], "target": nodes["id"].to_numpy()[target]}).to_csv(
    work / "digits" / "edges.csv", index=False)

assert selfsup(["pretrain", "graph", str(work / "digits"), "--epochs", "60", "--output", str(work / "run"),
                "--no-progress"]) == 0
assert selfsup(["embed", "graph", str(work / "digits"), "--encoder-dir", str(work / "run" / "encoder"),
                "--output", str(work / "nodes.parquet"), "--no-progress"]) == 0
# onnx: the trained GCN's per-layer PReLU slopes differ, which PyG's basic GCN (one activation) cannot hold,
# so --format pyg refuses this encoder and names the formats that take it
assert selfsup(["export", "--encoder-dir", str(work / "run" / "encoder"), "--format", "onnx",
                "--output", str(work / "exports")]) == 0

ids, embeddings = read_embeddings(work / "nodes.parquet")
labels = nodes.set_index("id").loc[ids, "label"].to_numpy()
pixels = nodes.set_index("id").loc[ids].drop(columns="label").to_numpy(dtype=np.float32)
print(f"linear probe, 5-fold: GRACE node embeddings {probe_accuracy(embeddings, labels):.3f}, "
      f"raw node features {probe_accuracy(pixels, labels):.3f} ({len(ids)} nodes; outputs in {work})")
