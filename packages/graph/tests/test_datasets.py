import gzip
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from selfsup.graph.datasets import (
    digits_knn_graph,
    load_ogb_node,
    load_planetoid,
    load_tu,
    random_node_split,
    sbm_graph,
)


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SELFSUP_CACHE", str(tmp_path / "cache"))


def write_planetoid(raw, name="cora", n_train=6, n_test=4, n_other=510, f=5, classes=3):
    """Small files in the published Planetoid format: pickled scipy matrices, numpy one-hot labels, a dict graph
    (more than the 500 validation nodes that torch-geometric takes after the training nodes)."""
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    n_all = n_train + n_other
    allx = sp.csr_matrix(rng.integers(0, 2, (n_all, f)).astype(np.float32))
    tx = sp.csr_matrix(rng.integers(0, 2, (n_test, f)).astype(np.float32))
    ally = np.eye(classes)[rng.integers(0, classes, n_all)]
    ty = np.eye(classes)[rng.integers(0, classes, n_test)]
    objects = {"x": allx[:n_train], "y": ally[:n_train], "allx": allx, "ally": ally, "tx": tx, "ty": ty}
    n = n_all + n_test
    objects["graph"] = {i: [(i + 1) % n, (i + 3) % n] for i in range(n)}
    for key, value in objects.items():
        with open(raw / f"ind.{name}.{key}", "wb") as fh:
            pickle.dump(value, fh)
    (raw / f"ind.{name}.test.index").write_text("\n".join(str(n_all + i) for i in range(n_test)) + "\n")
    return n


def test_planetoid_reads_published_files_without_touching_them(tmp_path):
    n = write_planetoid(tmp_path / "data" / "Cora" / "raw")
    before = sorted(p.name for p in (tmp_path / "data" / "Cora").rglob("*"))
    data = load_planetoid(tmp_path / "data", "cora")
    assert data.num_nodes == n and data.num_features == 5 and data.edge_index.shape[0] == 2
    assert int(data.train_mask.sum()) > 0
    assert sorted(p.name for p in (tmp_path / "data" / "Cora").rglob("*")) == before  # processed in the cache


def test_planetoid_missing_files_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"ind\.cora\.x.*Cora/raw"):
        load_planetoid(tmp_path, "Cora")
    with pytest.raises(ValueError, match="unknown Planetoid"):
        load_planetoid(tmp_path, "Karate")


def test_tu_reads_text_files_and_adds_degree_features(tmp_path):
    raw = tmp_path / "TOY" / "raw"
    raw.mkdir(parents=True)
    # graph 1: triangle (nodes 1-3), graph 2: path (nodes 4-5); 1-based ids as published
    (raw / "TOY_A.txt").write_text("1, 2\n2, 1\n2, 3\n3, 2\n1, 3\n3, 1\n4, 5\n5, 4\n")
    (raw / "TOY_graph_indicator.txt").write_text("1\n1\n1\n2\n2\n")
    (raw / "TOY_graph_labels.txt").write_text("1\n-1\n")
    graphs = load_tu(tmp_path, "TOY", max_degree=4)
    assert len(graphs) == 2 and [g.num_nodes for g in graphs] == [3, 2]
    assert torch.equal(graphs[0].x.argmax(1), torch.tensor([2, 2, 2]))
    assert graphs[0].y.item() != graphs[1].y.item()
    with pytest.raises(FileNotFoundError, match=r"NOPE_A\.txt"):
        load_tu(tmp_path, "NOPE")


def _csv_gz(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(",".join(str(v) for v in row) for row in rows) + "\n")


def test_ogb_node_layout(tmp_path):
    folder = tmp_path / "ogbn_toy"
    _csv_gz(folder / "raw" / "edge.csv.gz", [(0, 1), (1, 2), (2, 3)])
    _csv_gz(folder / "raw" / "node-feat.csv.gz", [(0.1, 0.2), (0.3, 0.4), (0.5, 0.6), (0.7, 0.8)])
    _csv_gz(folder / "raw" / "node-label.csv.gz", [(0,), (1,), (0,), (1,)])
    for part, ids in (("train", [0, 1]), ("valid", [2]), ("test", [3])):
        _csv_gz(folder / "split" / "time" / f"{part}.csv.gz", [(i,) for i in ids])
    data = load_ogb_node(tmp_path, "ogbn-toy")
    assert data.num_nodes == 4 and data.edge_index.shape[1] == 6  # symmetrised
    assert data.train_mask.tolist() == [True, True, False, False] and data.test_mask.tolist() == [False] * 3 + [True]
    (folder / "raw" / "node-label.csv.gz").unlink()
    with pytest.raises(FileNotFoundError, match=r"node-label\.csv\.gz"):
        load_ogb_node(tmp_path, "ogbn-toy")


def test_embedded_graphs():
    digits = digits_knn_graph()
    assert digits.num_nodes == 1797 and digits.num_features == 64
    assert int(digits.train_mask.sum()) == 200 and int(digits.val_mask.sum()) == 500
    assert int(digits.test_mask.sum()) == 1000
    assert not (digits.train_mask & digits.test_mask).any()
    edges = set(map(tuple, digits.edge_index.T.tolist()))
    assert all((b, a) in edges for a, b in list(edges)[:500])
    same = (digits.y[digits.edge_index[0]] == digits.y[digits.edge_index[1]]).float().mean()
    assert same > 0.9  # neighbours in pixel space mostly show the same digit
    graph = sbm_graph(num_blocks=3, block_size=40, seed=2)
    assert graph.num_nodes == 120 and torch.equal(graph.y.bincount(), torch.tensor([40, 40, 40]))
    assert torch.equal(sbm_graph(num_blocks=3, block_size=40, seed=2).edge_index, graph.edge_index)


def test_random_split_sizes():
    y = torch.arange(5).repeat(100)
    train, val, test = random_node_split(y, train_per_class=10, num_val=100, num_test=200, seed=1)
    assert train.sum() == 50 and val.sum() == 100 and test.sum() == 200
    assert not (train & val).any() and not (val & test).any()
    assert torch.equal(y[train].bincount(), torch.full((5,), 10))
