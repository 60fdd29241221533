import json

from selfsup.graph.bench import main


def test_smoke_suite_writes_rows_with_baselines(tmp_path):
    rows = main(["--preset", "smoke", "--methods", "cca_ssg,graphcl", "--output", str(tmp_path), "--quiet"])
    methods = [r["method"] for r in rows]
    assert methods[:3] == ["raw features (baseline)", "random init (baseline)", "supervised GCN (baseline)"]
    assert "cca_ssg" in methods and "graphcl" in methods
    node = next(r for r in rows if r["method"] == "cca_ssg")
    assert 0 < node["public"] <= 1 and 0 < node["random_splits"] <= 1 and node["wall_s"] > 0
    graph = next(r for r in rows if r["method"] == "graphcl")
    assert 0 < graph["graph"] <= 1
    saved = json.loads((tmp_path / "results.json").read_text())
    assert len(saved["rows"]) == len(rows)
    assert (tmp_path / "results.md").read_text().count("\n| ") == len(rows) + 1
    assert (tmp_path / "results.png").stat().st_size > 0 and (tmp_path / "results-graph.png").stat().st_size > 0


def test_plugin_registers_the_suite():
    from selfsup.core import registry

    assert "graph_grace" in registry.available("method") and "graph" in registry.available("bench")
    assert "planetoid" not in registry.available("dataset")  # a loader, not a torch Dataset: the Python API's


def test_the_spread_over_seeds_is_the_sample_std_as_in_every_suite():
    from selfsup.graph.bench import _graph_summary, _summarise

    row = _summarise([{"public": p, "random": [p, p + 0.02]} for p in (0.90, 0.92, 0.94)])
    assert row["public"] == 0.92 and row["public_std"] == 0.02  # n - 1; the population std would be 0.0163
    assert _graph_summary([{"accuracy": a} for a in (0.5, 0.7)])["graph_std"] == 0.1414
