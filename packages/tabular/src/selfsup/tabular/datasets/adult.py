"""UCI Adult / Census Income from its two official files (``adult.data`` / ``adult.test``, gzipped CSV)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

COLUMNS = ["age", "workclass", "fnlwgt", "education", "education_num", "marital_status", "occupation",
           "relationship", "race", "sex", "capital_gain", "capital_loss", "hours_per_week", "native_country",
           "income"]
NUMERIC = ["age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week"]
CATEGORICAL = ["workclass", "education", "marital_status", "occupation", "relationship", "race", "sex",
               "native_country"]
FILES = {"train": ("adult-train.csv.gz", "c7a2b4716a97f930123e0baf879188d701e798172631a654fc703d4b082907f3"),
         "test": ("adult-test.csv.gz", "41743e91fe4d25fd353ea754bfdb850444d050bd14aaee06a5be952b6dbfa3ec")}
SOURCE = "https://archive.ics.uci.edu/dataset/2/adult (adult.data and adult.test, gzipped)"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_adult(root: str | Path, split: str = "train", verify: bool = True) -> tuple[pd.DataFrame, pd.Series]:
    """``(features, label)`` of the official split: 14 columns (6 numeric, 8 categorical, ``?`` read as
    missing) and ``label`` = 1 for income ``>50K`` (the test file's trailing ``.`` removed).

    ``root`` is the folder holding ``adult-train.csv.gz`` and ``adult-test.csv.gz``.
    """
    if split not in FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    name, digest = FILES[split]
    path = Path(root) / name
    if not path.is_file():
        raise FileNotFoundError(f"UCI Adult file not found: expected {path} (from {SOURCE})")
    if verify and _sha256(path) != digest:
        raise ValueError(f"{path} does not have the expected SHA-256 {digest}: a different or damaged copy")
    frame = pd.read_csv(path, header=None, names=COLUMNS, sep=",", skipinitialspace=True, na_values="?",
                        comment="|", dtype={c: str for c in CATEGORICAL})
    frame = frame.dropna(subset=["income"])
    label = frame.pop("income").str.strip().str.rstrip(".").map({"<=50K": 0, ">50K": 1})
    if label.isna().any():
        raise ValueError(f"{path}: unexpected income labels {sorted(frame.loc[label.isna()].index[:5])}")
    return frame.reset_index(drop=True), label.astype(int).reset_index(drop=True).rename("label")
