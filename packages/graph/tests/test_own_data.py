"""``selfsup pretrain graph PATH`` and ``selfsup embed graph PATH``: an edge list (with or without a node table), bad
rows skipped and named, original ids kept, whole-graph and sampled-neighbourhood training, exact embeddings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from selfsup.core import cli
from selfsup.core.hub import load_pretrained
from selfsup.graph.datasets.edge_list import STRUCTURAL_FEATURES, read_graph


def write_graph_folder(folder: Path, n: int = 120) -> list[str]:
    """``edges.csv`` (a ring with chords, plus a self-loop, a repeated edge, a row with one id and an edge to a node
    nodes.csv lacks) and ``nodes.csv`` (two features, one NaN, a label, and a node with no edge); returns the ids in
    nodes.csv order."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    ids = [f"user-{i}" for i in range(n)] + ["hermit"]
    edges = [(f"user-{i}", f"user-{(i + 1) % n}") for i in range(n)]
    chords = (np.arange(0, n, 3) + 2 + rng.integers(0, n - 3, n // 3)) % n  # never a loop or a ring edge
    edges += [(f"user-{i}", f"user-{int(j)}") for i, j in zip(range(0, n, 3), chords, strict=True)]
    edges += [("user-5", "user-5"), ("user-1", "user-2")]
    rows = [f"{a},{b}" for a, b in edges] + ["user-7,", "user-8,ghost"]
    (folder / "edges.csv").write_text("source,target\n" + "\n".join(rows) + "\n")
    group = np.arange(len(ids)) % 2
    nodes = pd.DataFrame({"id": ids, "f1": rng.normal(group, 1.0).round(3), "f2": rng.normal(size=len(ids)).round(3),
                          "label": np.where(group == 1, "odd", "even")})
    nodes.loc[4, "f2"] = np.nan
    nodes.to_csv(folder / "nodes.csv", index=False)
    return ids


def _pretrain(path: Path, output: Path, *extra: str) -> int:
    return cli.main(["pretrain", "graph", str(path), "--output", str(output), "--no-progress",
                     "--encoder-args", '{"hidden": 32}', "--max-bad-fraction", "0.05", *extra])


def test_reading_an_edge_list_repairs_and_reports(tmp_path):
    ids = write_graph_folder(tmp_path / "g")
    graph = read_graph(tmp_path / "g")
    assert graph.ids == ids  # nodes.csv's order
    assert [r["item"] for r in graph.skipped] == ["edges.csv row 162", "edges.csv row 163"]
    assert "'ghost' is not in nodes.csv" in graph.skipped[1]["reason"]
    assert graph.notes[:3] == ["1 self-loops removed", "1 repeated edges removed", "1 nodes have no edge (kept)"]
    edge_index = graph.data.edge_index
    assert not (edge_index[0] == edge_index[1]).any()
    pairs = set(map(tuple, edge_index.t().tolist()))
    assert all((b, a) in pairs for a, b in pairs) and len(pairs) == edge_index.shape[1]  # undirected, no repeats
    assert graph.features == ["f1", "f2"] and torch.isfinite(graph.data.x).all()
    assert graph.classes == ["even", "odd"] and graph.data.y[:4].tolist() == [0, 1, 0, 1]


def test_a_snap_style_edge_list_gets_structural_features(tmp_path):
    lines = ["# a comment", "# FromNodeId\tToNodeId"] + [f"{i}\t{(i * 7 + 1) % 50}" for i in range(50)]
    (tmp_path / "web.txt").write_text("\n".join(lines) + "\n")
    graph = read_graph(tmp_path / "web.txt")
    assert graph.data.num_nodes == 50 and graph.ids[:2] == ["0", "1"]  # no header taken from the data
    assert graph.features == list(STRUCTURAL_FEATURES) and graph.data.x.shape == (50, 4)
    assert torch.allclose(graph.data.x.mean(0), torch.zeros(4), atol=1e-5)


def test_pretrain_and_embed_a_graph_folder(tmp_path, capsys):
    ids = write_graph_folder(tmp_path / "g")
    run = tmp_path / "run"
    assert _pretrain(tmp_path / "g", run, "--epochs", "3") == 0
    out = capsys.readouterr()
    assert "note: 1 self-loops removed" in out.err and "121 nodes" in out.out
    skipped = [json.loads(line)["item"] for line in (run / "skipped.jsonl").read_text().splitlines()]
    assert skipped == ["edges.csv row 162", "edges.csv row 163"]
    assert cli.main(["embed", "graph", str(tmp_path / "g"), "--encoder-dir", str(run / "encoder"), "--output",
                     str(tmp_path / "e.parquet"), "--no-progress", "--batch-size", "16", "--num-workers", "1"]) == 0
    embedded = pd.read_parquet(tmp_path / "e.parquet")
    assert embedded["id"].tolist() == ids and embedded["label"].iloc[1] == "odd"
    encoder = load_pretrained(run / "encoder").eval()  # batches of 16 nodes with their whole receptive field ...
    graph = read_graph(tmp_path / "g")
    with torch.no_grad():
        whole = encoder(graph.data.x, graph.data.edge_index)  # ... equal one pass over the whole graph
    assert torch.allclose(torch.from_numpy(np.stack(embedded["embedding"])), whole, atol=1e-5)


def test_a_large_graph_trains_on_sampled_neighbourhoods(tmp_path):
    write_graph_folder(tmp_path / "g")
    run = tmp_path / "run"
    assert _pretrain(tmp_path / "g", run, "--full-graph-nodes", "50", "--batch-size", "32", "--max-steps", "4",
                     "--method", "bgrl", "--fanout", "5,5", "--num-workers", "1") == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 4 and summary["items"] == 121  # an epoch is every node once, as a seed
    assert "mode: neighbours" in (run / "config.yaml").read_text()


def test_graph_errors_are_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert _pretrain(tmp_path / "empty", tmp_path / "a") == 2
    assert "no edges.csv" in capsys.readouterr().err
    write_graph_folder(tmp_path / "g")
    assert _pretrain(tmp_path / "g", tmp_path / "b", "--method", "graphcl") == 2
    assert "not a node-level method" in capsys.readouterr().err
    assert _pretrain(tmp_path / "g", tmp_path / "c", "--fanout", "5") == 2
    assert "one count per layer" in capsys.readouterr().err
    nodes = pd.read_csv(tmp_path / "g" / "nodes.csv")
    pd.concat([nodes, nodes.iloc[:1]]).to_csv(tmp_path / "g" / "nodes.csv", index=False)
    assert _pretrain(tmp_path / "g", tmp_path / "d") == 2
    assert "node ids repeat (e.g. 'user-0')" in capsys.readouterr().err


@pytest.mark.parametrize("first_line", ["src dst", "a,b"])
def test_a_header_is_told_from_data(tmp_path, first_line):
    sep = " " if " " in first_line else ","
    (tmp_path / "e.csv").write_text(first_line + "\n" + "\n".join(f"{i}{sep}{i + 1}" for i in range(5)) + "\n")
    assert read_graph(tmp_path / "e.csv").data.num_nodes == 6


def test_recipes_are_files_the_suite_and_the_command_share(tmp_path, capsys):
    import yaml

    from selfsup.core.recipes import load_recipe
    from selfsup.graph.build import RECIPES

    assert cli.main(["recipes", "graph"]) == 0
    listed = capsys.readouterr().out
    assert "| grace-cora | graph | grace | 200 | Zhu et al. 2020" in listed and "graphmae-cora" in listed
    for method, recipe in RECIPES.items():  # the suite trains with what the files say
        values = load_recipe("graph", recipe["recipe"])
        assert values["method"] == method and recipe["method"] == values.get("method_args", {})
        assert recipe["train"]["epochs"] == values["epochs"]
    write_graph_folder(tmp_path / "g")
    run = tmp_path / "run"
    assert _pretrain(tmp_path / "g", run, "--recipe", "cca_ssg-cora", "--epochs", "2") == 0  # a flag overrides
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["recipe"] == "cca_ssg-cora" and config["method"] == "cca_ssg" and config["epochs"] == 2
    assert config["method_args"] == {"lambd": 0.001, "drop_edge": [0.4, 0.4], "mask_feature": [0.1, 0.1]}
    assert config["min_lr_ratio"] == 1.0 and json.loads((run / "summary.json").read_text())["steps"] == 2
    assert _pretrain(tmp_path / "g", tmp_path / "x", "--recipe", "grace-pubmed") == 2
    assert "no graph recipe 'grace-pubmed' (the graph recipes: bgrl-cora" in capsys.readouterr().err


def test_resume_on_a_graph_matches_the_uninterrupted_run(tmp_path):
    """Whole-graph steps (one an epoch), cut after step 3 and resumed with --resume auto: step 4's weights equal."""
    from selfsup.core.testing import checkpoint_weights, cut_after

    write_graph_folder(tmp_path / "g")
    flags = ("--max-steps", "4", "--checkpoint-every", "1", "--seed", "2")
    assert _pretrain(tmp_path / "g", tmp_path / "straight", *flags) == 0
    cut = tmp_path / "cut"
    cut_after(tmp_path / "straight", cut, step=3, last=4)
    assert _pretrain(tmp_path / "g", cut, *flags, "--resume", "auto") == 0
    straight, resumed = (checkpoint_weights(run, 4) for run in (tmp_path / "straight", cut))
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)


def _write_graph_files(folder: Path) -> list[str]:
    """16 small graphs as edge-list files (rings and stars, 5-12 nodes), plus an empty file; the good names."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = []
    for i in range(16):
        n = int(rng.integers(5, 13))
        edges = [(k, (k + 1) % n) for k in range(n)] if i % 2 else [(0, k) for k in range(1, n)]
        (folder / f"g{i:02d}.txt").write_text("\n".join(f"{a} {b}" for a, b in edges) + "\n")
        names.append(f"g{i:02d}.txt")
    (folder / "empty.txt").write_text("")
    return names


def test_a_folder_of_graphs_trains_graphcl_and_embeds_one_row_per_graph(tmp_path, capsys):
    import yaml

    names = _write_graph_files(tmp_path / "mols")
    run = tmp_path / "run"
    assert cli.main(["pretrain", "graph", str(tmp_path / "mols"), "--output", str(run), "--no-progress", "--epochs",
                     "2", "--batch-size", "8", "--num-workers", "0", "--max-bad-fraction", "0.2"]) == 0
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert (config["method"], config["encoder"], config["level"]) == ("graphcl", "gnn_pooled", "graph")
    assert [json.loads(line)["item"] for line in (run / "skipped.jsonl").read_text().splitlines()] == ["empty.txt"]
    assert "16 graphs" in capsys.readouterr().out
    assert cli.main(["embed", "graph", str(tmp_path / "mols"), "--encoder-dir", str(run / "encoder"), "--output",
                     str(tmp_path / "e.npy"), "--no-progress", "--num-workers", "0", "--batch-size", "5"]) == 0
    features = np.load(tmp_path / "e.npy")
    assert (tmp_path / "e.ids.txt").read_text().split() == names and features.shape[0] == 16
    rings, stars = features[1::2], features[0::2]  # the pooled encoder tells the two shapes apart
    assert np.linalg.norm(rings.mean(0) - stars.mean(0)) > np.linalg.norm(rings - rings.mean(0), axis=1).mean() / 4


def test_a_tu_folder_keeps_its_graph_labels(tmp_path):
    folder = tmp_path / "toy"
    folder.mkdir()
    edges, indicator, labels, start = [], [], [], 1
    for g in range(8):  # triangles (label 1) and 3-node paths (label -1), 1-based node ids as published
        a, b, c = start, start + 1, start + 2
        pairs = [(a, b), (b, c), (a, c)] if g % 2 == 0 else [(a, b), (b, c)]
        edges += [f"{u}, {v}\n{v}, {u}" for u, v in pairs]
        indicator += [str(g + 1)] * 3
        labels.append("1" if g % 2 == 0 else "-1")
        start += 3
    (folder / "TOY_A.txt").write_text("\n".join(edges) + "\n")
    (folder / "TOY_graph_indicator.txt").write_text("\n".join(indicator) + "\n")
    (folder / "TOY_graph_labels.txt").write_text("\n".join(labels) + "\n")
    run = tmp_path / "run"
    assert cli.main(["pretrain", "graph", str(folder), "--output", str(run), "--no-progress", "--epochs", "1",
                     "--batch-size", "4", "--num-workers", "0"]) == 0
    assert cli.main(["embed", "graph", str(folder), "--encoder-dir", str(run / "encoder"), "--output",
                     str(tmp_path / "e.parquet"), "--no-progress", "--num-workers", "0"]) == 0
    embedded = pd.read_parquet(tmp_path / "e.parquet")
    assert embedded["id"].tolist()[:2] == ["TOY graph 0", "TOY graph 1"]
    assert embedded["label"].tolist() == ["1", "0"] * 4  # as torch-geometric reads TU labels: 0..K-1
