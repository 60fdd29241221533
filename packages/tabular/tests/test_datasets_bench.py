"""Loaders on tiny files the tests write, and the suite's smoke preset on the embedded table."""

import gzip
import json

import numpy as np
import pandas as pd
import pytest

from selfsup.tabular import load_adult, load_embedded, load_table
from selfsup.tabular.bench import main as bench_main

TRAIN_LINES = [
    "39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, Male, 2174, 0, 40, "
    "United-States, <=50K",
    "50, ?, 83311, Bachelors, 13, Married-civ-spouse, Exec-managerial, Husband, White, Male, 0, 0, 13, "
    "United-States, >50K",
]
TEST_LINES = ["|1x3 Cross validator",
              "25, Private, 226802, 11th, 7, Never-married, Machine-op-inspct, Own-child, Black, Male, 0, 0, 40, "
              "United-States, >50K."]


def _write(folder, name, lines):
    with gzip.open(folder / name, "wt") as f:
        f.write("\n".join(lines) + "\n")


def test_adult_loader_reads_the_official_format(tmp_path):
    _write(tmp_path, "adult-train.csv.gz", TRAIN_LINES)
    _write(tmp_path, "adult-test.csv.gz", TEST_LINES)
    x, y = load_adult(tmp_path, "train", verify=False)
    assert x.shape == (2, 14) and y.tolist() == [0, 1]
    assert pd.isna(x.loc[1, "workclass"]) and x.loc[0, "workclass"] == "State-gov" and x.loc[0, "age"] == 39
    x_test, y_test = load_adult(tmp_path, "test", verify=False)
    assert len(x_test) == 1 and y_test.tolist() == [1]  # "|1x3" header skipped, trailing '.' removed
    with pytest.raises(ValueError, match="expected SHA-256"):
        load_adult(tmp_path, "train")
    with pytest.raises(FileNotFoundError, match=r"expected .*adult-train\.csv\.gz"):
        load_adult(tmp_path / "missing", "train")


def test_generic_csv_and_parquet_loader(tmp_path):
    frame = pd.DataFrame({"x": ["1.5", "oops", "3"], "city": ["a", "b", None], "y": [0, 1, 0]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    features, target = load_table(tmp_path / "t.csv", "y", numeric=["x"], categorical=["city"])
    assert features["x"].isna().tolist() == [False, True, False] and target.tolist() == [0, 1, 0]
    pytest.importorskip("pyarrow")
    frame.to_parquet(tmp_path / "t.parquet")
    features, _ = load_table(tmp_path / "t.parquet", "y", numeric=["x"], categorical=["city"])
    assert features.shape == (3, 2)
    with pytest.raises(ValueError, match=r"has no columns \['nope'\]"):
        load_table(tmp_path / "t.csv", "nope")
    with pytest.raises(FileNotFoundError):
        load_table(tmp_path / "absent.csv", "y")


def test_embedded_table_needs_no_file():
    x, y = load_embedded()
    assert x.shape == (569, 30) and set(np.unique(y)) == {0, 1}


def test_smoke_suite_writes_rows_with_baselines(tmp_path):
    bench_main(["--preset", "smoke", "--methods", "scarf", "--output", str(tmp_path)])
    payload = json.loads((tmp_path / "results.json").read_text())
    methods = {r["method"] for r in payload["rows"]}
    assert {"scarf", "random init", "supervised MLP (same architecture)", "HistGradientBoosting",
            "raw one-hot + logistic regression"} <= methods
    assert {r["labels"] for r in payload["rows"]} == {"10%", "100%"}
    assert all(0.5 <= r["roc_auc"] <= 1 for r in payload["rows"])
    assert (tmp_path / "results.png").stat().st_size > 10_000 and "± " in (tmp_path / "results.md").read_text()


def test_the_suite_takes_a_csv_with_missing_categories_and_tunes_its_probes(tmp_path):
    """A CSV whose categorical column has missing values (pandas' pd.NA, which broke the one-hot baseline inside
    scikit-learn's imputer); --target, --seeds and --epochs; each logistic regression's C chosen on validation."""
    from selfsup.tabular.bench import C_GRID, tuned_logistic

    rng = np.random.default_rng(0)
    n = 400
    label = rng.integers(0, 2, n)
    frame = pd.DataFrame({"a": rng.normal(label, 1.0).round(3), "b": rng.normal(size=n).round(3),
                          "colour": np.where(rng.random(n) < 0.2, None, np.where(label == 1, "red", "blue")),
                          "outcome": np.where(label == 1, "yes", "no")})
    frame.to_csv(tmp_path / "t.csv", index=False)
    bench_main(["--preset", "smoke", "--methods", "scarf", "--data-root", str(tmp_path / "t.csv"), "--target",
                "outcome", "--seeds", "1", "--epochs", "1", "--output", str(tmp_path / "out")])
    rows = json.loads((tmp_path / "out" / "results.json").read_text())["rows"]
    one_hot = [r for r in rows if r["method"] == "raw one-hot + logistic regression"]
    assert len(one_hot) == 2 and all(r["roc_auc"] > 0.8 for r in one_hot)
    assert rows[0]["data"] == "t.csv (outcome, 70/30)"
    assert {r["epochs"] for r in rows if r["method"] == "scarf"} == {1}
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    x = np.c_[label + rng.normal(0, 2.0, n), rng.normal(size=(n, 40))]  # one weak signal among 40 noise columns
    chosen = tuned_logistic(lambda c: LogisticRegression(C=c, max_iter=2000), x, label, seed=0)
    fit, val = train_test_split(np.arange(n), test_size=0.2, stratify=label, random_state=0)
    auc = {c: roc_auc_score(label[val], LogisticRegression(C=c, max_iter=2000).fit(x[fit], label[fit])
                            .predict_proba(x[val])[:, 1]) for c in C_GRID}
    assert auc[chosen.C] == max(auc.values()) and len(set(auc.values())) > 1  # the grid matters, the best is taken
    with pytest.raises(ValueError, match="name its label column with --target"):
        bench_main(["--preset", "smoke", "--data-root", str(tmp_path / "t.csv"), "--output", str(tmp_path / "o2")])
