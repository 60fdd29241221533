"""Tables: pretrain SCARF on a CSV file, embed its rows, probe the embeddings, export a scikit-learn transformer.

The file is scikit-learn's breast-cancer table (569 rows, 30 numeric columns) with its diagnosis as a ``label``
column that pretraining leaves out (``--target``). Under a minute on 2 CPU cores:

    python examples/tables.py
"""

import tempfile
from pathlib import Path

import skops.io
from _probe import probe_accuracy, read_embeddings
from sklearn.datasets import load_breast_cancer

from selfsup.core.cli import main as selfsup

work = Path(tempfile.mkdtemp(prefix="selfsup-tables-"))
frame = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "label"})
frame.insert(0, "patient", [f"p{i:04d}" for i in range(len(frame))])
frame.to_csv(work / "cancer.csv", index=False)

assert selfsup(["pretrain", "tabular", str(work / "cancer.csv"), "--target", "label", "--id-column", "patient",
                "--epochs", "30", "--output", str(work / "run"), "--no-progress"]) == 0
assert selfsup(["embed", "tabular", str(work / "cancer.csv"), "--encoder-dir", str(work / "run" / "encoder"),
                "--output", str(work / "rows.parquet"), "--no-progress"]) == 0
assert selfsup(["export", "--encoder-dir", str(work / "run" / "encoder"), "--format", "sklearn",
                "--output", str(work / "encoder.skops")]) == 0

ids, embeddings = read_embeddings(work / "rows.parquet")
labels = frame.set_index("patient").loc[ids, "label"].to_numpy()
raw = frame.set_index("patient").loc[ids].drop(columns="label").to_numpy()
encoder = skops.io.load(work / "encoder.skops", trusted=["selfsup.tabular.sklearn_api.SelfSupervisedEncoder"])
features = encoder.transform(frame.drop(columns=["patient", "label"]))  # the training table's columns
print(f"the exported scikit-learn transformer gives {features.shape[1]} features a row")
print(f"linear probe, 5-fold: SCARF embeddings {probe_accuracy(embeddings, labels):.3f}, "
      f"raw columns {probe_accuracy(raw, labels):.3f} ({len(ids)} rows; outputs in {work})")
