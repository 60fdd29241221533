"""Tabular suite: pretrain on the unlabeled rows, probe and fine-tune with 10% and 100% of the labels.

    selfsup bench tabular [--preset smoke|default|full|gpu] [--methods scarf,...] [--data-root DIR|FILE]
                          [--target COL] [--seeds N] [--epochs N] [--output DIR]

``--data-root`` holding UCI Adult's official files benchmarks on Adult (train 32,561 / test 16,281); a CSV or
Parquet file with ``--target`` (a column of two classes) on that table (70/30 stratified split); without it, the
embedded breast-cancer table (70/30 stratified split). Logistic regressions (probes and the one-hot baseline) take
the ``C`` of :data:`C_GRID` with the best ROC-AUC on a stratified 20 % of the labelled rows, then refit on them all.
For every SSL method and seed: a logistic-regression probe and a small MLP probe on frozen features, and fine-tuning of
encoder + head, each with 10% and 100% of the train labels; accuracy and ROC-AUC on the test split.
Baselines on the same split and label fractions: raw one-hot logistic regression,
HistGradientBoosting, the supervised MLP of the same architecture, and the random-init encoder.
Writes ``results.json`` (``rows``), ``results.md`` and ``results.png``.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from torch import nn

from selfsup.core.bench import parse_methods, suite_parser
from selfsup.core.bench.versus import VERSUS, markdown_table, merge_seeds, versus_best_baseline
from selfsup.core.extras import pyplot
from selfsup.tabular.build import build_encoder
from selfsup.tabular.datasets import load_adult, load_embedded
from selfsup.tabular.preprocessing import TablePreprocessor, infer_column_types
from selfsup.tabular.sklearn_api import SelfSupervisedEncoder, encode

PRESETS = {"smoke": {"epochs": 2, "seeds": 1, "rows": 3000, "finetune_epochs": 2},
           # the main job's share of 15 minutes on 2 CPU cores: SCARF and VIME, 3 seeds
           "default": {"epochs": 10, "seeds": 3, "rows": None, "finetune_epochs": 10, "methods": ("scarf", "vime")},
           "full": {"epochs": 10, "seeds": 3, "rows": None, "finetune_epochs": 10},
           "gpu": {"epochs": 50, "seeds": 3, "rows": None, "finetune_epochs": 30}}
METHODS = {"scarf": "mlp", "vime": "mlp", "subtab": "mlp", "dae": "mlp", "tjepa": "ft_transformer"}
FRACTIONS = (0.1, 1.0)
C_GRID = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)  # logistic regressions' inverse regularisation, chosen on validation


def load_split(data_root: Path | None, seed: int = 0, rows: int | None = None, target: str | None = None):
    """``(x_train, y_train, x_test, y_test, name)``: Adult's official split, a table file's or the embedded table's
    70/30 stratified split, each split cut to its first ``rows`` rows when given (smoke runs)."""
    if data_root is not None and data_root.is_dir():
        x_train, y_train = load_adult(data_root, "train")
        x_test, y_test = load_adult(data_root, "test")
        name = "UCI Adult (official split)"
    else:
        x, y = load_embedded() if data_root is None else table_file(data_root, target)
        x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, stratify=y, random_state=seed)
        x_train, y_train, x_test, y_test = (part.reset_index(drop=True) for part in (x_train, y_train, x_test, y_test))
        name = "breast cancer (embedded, 70/30)" if data_root is None else f"{data_root.name} ({target}, 70/30)"
    if rows:
        x_train, y_train, x_test, y_test = (part[:rows] for part in (x_train, y_train, x_test, y_test))
    return x_train, y_train, x_test, y_test, name


def table_file(path: Path, target: str | None) -> tuple[pd.DataFrame, pd.Series]:
    """``(features, 0/1 labels)`` of a CSV/Parquet file whose ``target`` column has two classes (rows without a
    target dropped); column kinds as ``selfsup pretrain tabular`` infers them."""
    if not target:
        raise ValueError(f"--data-root {path} is a table: name its label column with --target")
    frame = pd.read_parquet(path) if path.suffix.lower() in (".parquet", ".pq") else pd.read_csv(path, sep=None,
                                                                                               engine="python")
    if target not in frame.columns:
        raise ValueError(f"{path} has no column {target!r} (it has {', '.join(map(str, frame.columns))})")
    frame = frame[frame[target].notna()]
    classes = sorted(frame[target].astype(str).unique())
    if len(classes) != 2:
        raise ValueError(f"the suite scores two classes; {target!r} has {len(classes)}: {classes[:5]}")
    y = (frame[target].astype(str) == classes[1]).astype(int).rename(target).reset_index(drop=True)
    return frame.drop(columns=target).reset_index(drop=True), y


def tuned_logistic(make, f_train, y_train, seed: int):
    """``make(C)`` (a classifier pipeline) fitted on all of ``f_train`` with the ``C`` of :data:`C_GRID` whose fit on
    80 % scores the best ROC-AUC on the other, stratified 20 % (the grid's middle when a class has under 5 rows)."""
    y_train = np.asarray(y_train)
    if np.bincount(y_train).min() < 5:
        return make(1.0).fit(f_train, y_train)
    fit_idx, val_idx = train_test_split(np.arange(len(y_train)), test_size=0.2, stratify=y_train, random_state=seed)
    pick = (lambda f, i: f.iloc[i]) if isinstance(f_train, pd.DataFrame) else (lambda f, i: f[i])
    best = max(C_GRID, key=lambda c: roc_auc_score(y_train[val_idx], make(c).fit(
        pick(f_train, fit_idx), y_train[fit_idx]).predict_proba(pick(f_train, val_idx))[:, 1]))
    return make(best).fit(f_train, y_train)


def labeled_subset(y: pd.Series, fraction: float, seed: int) -> np.ndarray:
    if fraction >= 1.0:
        return np.arange(len(y))
    idx, _ = train_test_split(np.arange(len(y)), train_size=fraction, stratify=y, random_state=seed)
    return np.sort(idx)


def scores(y_true, proba) -> dict:
    return {"accuracy": accuracy_score(y_true, proba >= 0.5), "roc_auc": roc_auc_score(y_true, proba)}


def probe_lr(f_train, y_train, f_test, y_test, seed: int = 0) -> dict:
    model = tuned_logistic(lambda c: make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000)),
                           f_train, y_train, seed)
    return scores(y_test, model.predict_proba(f_test)[:, 1])


def probe_mlp(f_train, y_train, f_test, y_test, seed) -> dict:
    model = make_pipeline(StandardScaler(), MLPClassifier((128,), early_stopping=len(y_train) >= 100,
                                                          max_iter=200, random_state=seed))
    return scores(y_test, model.fit(f_train, y_train).predict_proba(f_test)[:, 1])


def fine_tune(encoder: nn.Module, prep: TablePreprocessor, x_train, y_train, x_test, y_test, epochs: int,
              seed: int) -> dict:
    """Encoder + linear head trained with cross-entropy (AdamW, batch 256); from SSL or random weights."""
    torch.manual_seed(seed)
    encoder = copy.deepcopy(encoder).float().train()
    head = nn.Linear(encoder.out_dim, 2)
    params = [*encoder.parameters(), *head.parameters()]
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=1e-5)
    table, labels = prep.transform(x_train), torch.as_tensor(np.array(y_train))
    batch = min(256, len(labels))
    for _ in range(epochs):
        order = torch.randperm(len(labels))
        for start in range(0, len(labels) - batch + 1, batch):
            idx = order[start : start + batch]
            loss = F.cross_entropy(head(encoder(table[idx])), labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    encoder.eval()
    with torch.no_grad():
        test = prep.transform(x_test)
        chunks = [torch.softmax(head(encoder(test[i : i + 4096])), 1)[:, 1] for i in range(0, len(test), 4096)]
        proba = torch.cat(chunks)
    return scores(y_test, proba.numpy())


def sklearn_ready(frame: pd.DataFrame, numeric: list[str], categorical: list[str]) -> pd.DataFrame:
    """Numbers as float64 (stray text -> NaN) and categories as object columns with NaN for missing: scikit-learn's
    imputers cannot compare pandas' ``pd.NA`` ("boolean value of NA is ambiguous")."""
    from selfsup.tabular.schema import as_numbers

    out = pd.DataFrame(index=frame.index)
    for c in numeric:
        out[c] = as_numbers(frame[c])[0]
    for c in categorical:
        text = frame[c].astype("string")
        out[c] = text.astype(object).where(text.notna(), np.nan)
    return out


def raw_baselines(x_train, y_train, x_test, y_test, seed) -> dict[str, dict]:
    numeric, categorical = infer_column_types(x_train)
    x_train, x_test = (sklearn_ready(x, numeric, categorical) for x in (x_train, x_test))

    def one_hot_lr(c: float):
        onehot = ColumnTransformer([
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")),
             categorical)])
        return make_pipeline(onehot, LogisticRegression(C=c, max_iter=2000))

    lr = tuned_logistic(one_hot_lr, x_train, y_train, seed)
    trees_x = x_train.copy()
    test_x = x_test.copy()
    for c in categorical:  # HistGradientBoosting's native categorical support, test levels aligned to train
        trees_x[c] = trees_x[c].astype("category")
        test_x[c] = pd.Categorical(test_x[c], categories=trees_x[c].cat.categories)
    # sklearn's default min_samples_leaf=20 cannot split 40 labelled rows (10 % of a small table): every tree was a
    # single leaf, a constant prediction (ROC-AUC 0.5). Leaves of at least a twentieth of the rows (2..20) fit.
    leaf = int(min(20, max(2, len(y_train) // 20)))
    trees = HistGradientBoostingClassifier(categorical_features="from_dtype", min_samples_leaf=leaf,
                                           random_state=seed).fit(trees_x, y_train)
    return {"raw one-hot + logistic regression": scores(y_test, lr.predict_proba(x_test)[:, 1]),
            "HistGradientBoosting": scores(y_test, trees.predict_proba(test_x)[:, 1])}


def _row(method, probe, fraction, seed, result, **extra) -> dict:
    return {"method": method, "probe": probe, "labels": f"{int(fraction * 100)}%", "seed": seed,
            "accuracy": round(float(result["accuracy"]), 4), "roc_auc": round(float(result["roc_auc"]), 4), **extra}


def run(args) -> list[dict]:
    preset = dict(PRESETS[args.preset])
    preset.update({k: getattr(args, k) for k in ("seeds", "epochs") if getattr(args, k, None) is not None})
    x_train, y_train, x_test, y_test, data = load_split(args.data_root, rows=preset["rows"],
                                                        target=getattr(args, "target", None))
    methods = parse_methods(args.methods, METHODS, preset.get("methods"))
    rows = []
    for seed in range(preset["seeds"]):
        for fraction in FRACTIONS:
            idx = labeled_subset(y_train, fraction, seed)
            xl, yl = x_train.iloc[idx], y_train.iloc[idx]
            for name, result in raw_baselines(xl, yl, x_test, y_test, seed).items():
                rows.append(_row(name, "-", fraction, seed, result, data=data))
        for method in ["random init", *methods]:
            encoder_name = "mlp" if method == "random init" else METHODS[method]
            model = SelfSupervisedEncoder(method="scarf" if method == "random init" else method,
                                          encoder=encoder_name, epochs=preset["epochs"], random_state=seed)
            start = time.perf_counter()
            if method == "random init":  # the same preprocessing and architecture, no pretraining
                model.preprocessor_ = TablePreprocessor().fit(x_train)
                torch.manual_seed(seed)
                model.encoder_ = build_encoder("mlp", model.preprocessor_, out_dim=128).eval()
            else:
                model.fit(x_train)
            wall = time.perf_counter() - start
            prep, encoder = model.preprocessor_, model.encoder_
            f_train, f_test = encode(encoder, prep.transform(x_train)), encode(encoder, prep.transform(x_test))
            extra = {"data": data, "encoder": encoder_name, "pretrain_s": round(wall, 1), "epochs": preset["epochs"]}
            for fraction in FRACTIONS:
                idx = labeled_subset(y_train, fraction, seed)
                yl = y_train.iloc[idx]
                rows.append(_row(method, "logistic regression", fraction, seed,
                                 probe_lr(f_train[idx], yl, f_test, y_test, seed), **extra))
                rows.append(_row(method, "MLP probe", fraction, seed,
                                 probe_mlp(f_train[idx], yl, f_test, y_test, seed), **extra))
                tuned = fine_tune(encoder, prep, x_train.iloc[idx], yl, x_test, y_test, preset["finetune_epochs"], seed)
                label = "supervised MLP (same architecture)" if method == "random init" else method
                rows.append(_row(label, "fine-tune", fraction, seed, tuned, **extra))
            print(f"{method:12s} seed {seed}: pretrain {wall:.1f} s", flush=True)
    return rows


BASELINES = ("raw one-hot + logistic regression", "HistGradientBoosting", "random init",
             "supervised MLP (same architecture)")


def summarize(rows: list[dict]) -> list[dict]:
    """One row per (method, probe, labels): accuracy and ROC-AUC as mean, ``_std`` and ``_per_seed`` (seeds in
    order), and the ``vs_best_baseline`` ROC-AUC column within each label fraction."""
    runs = [[r for r in rows if r["seed"] == seed] for seed in dict.fromkeys(r["seed"] for r in rows)]
    summary = merge_seeds(runs, ("accuracy", "roc_auc"), key=("method", "probe", "labels"))
    for row in summary:
        row["baseline"] = row["method"] in BASELINES
        row.pop("seed", None)
    for labels in dict.fromkeys(r["labels"] for r in summary):
        versus_best_baseline(summary, "roc_auc", where=lambda row, labels=labels: row["labels"] == labels)
    return summary


def write_outputs(rows: list[dict], summary: list[dict], output: Path, preset: str) -> dict | None:
    """``results.json`` (rows, summary, headline: the ROC-AUC at the fewest labels of the best SSL row against the
    best baseline), ``results.md`` and ``results.png``; returns the headline."""
    output.mkdir(parents=True, exist_ok=True)
    fewest = min((r["labels"] for r in summary), key=lambda labels: int(labels.rstrip("%")))
    headline = versus_best_baseline([dict(r) for r in summary], "roc_auc", where=lambda row: row["labels"] == fewest)
    (output / "results.json").write_text(json.dumps({"meta": {"preset": preset, "headline": headline}, "rows": rows,
                                                     "summary": summary}, indent=2, default=float))
    cols = ["method", "probe", "labels", "seeds", "accuracy", "roc_auc", VERSUS]
    (output / "results.md").write_text(f"Data: {rows[0]['data']}; preset {preset}; mean ± std over seeds; logistic "
                                       "regressions' C chosen on a validation 20 % of the labelled rows; "
                                       f"{VERSUS.replace('_', ' ')}: ROC-AUC minus the best baseline's at the same "
                                       "labels (± the spread of the per-seed differences).\n\n"
                                       + "\n".join(markdown_table(summary, cols)) + "\n")
    plt = pyplot("selfsup-tabular")
    fractions = list(dict.fromkeys(r["labels"] for r in summary))
    fig, axes = plt.subplots(1, len(fractions), figsize=(6 * len(fractions), 6.5), sharey=True, squeeze=False)
    for ax, labels in zip(axes[0], fractions, strict=True):
        part = [r for r in summary if r["labels"] == labels]
        names = [f"{r['method']} / {r['probe']}" for r in part]
        ax.barh(np.arange(len(part)), [r["roc_auc"] for r in part], xerr=[r["roc_auc_std"] for r in part],
                color=["tab:gray" if r["baseline"] else "tab:blue" for r in part], error_kw={"capsize": 2})
        best = max(r["roc_auc"] for r in part if r["baseline"])
        ax.axvline(best, color="tab:red", linestyle="--", linewidth=1, label="best baseline")
        ax.set_yticks(np.arange(len(part)), names, fontsize=7)
        ax.set_title(f"{labels} of the labels (gray: baselines)")
        ax.set_xlabel("test ROC-AUC")
        lo = min(r["roc_auc"] - r["roc_auc_std"] for r in part)
        ax.set_xlim(max(0.0, lo - 0.02), 1.0)
    axes[0][0].invert_yaxis()
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(output / "results.png", dpi=120)
    plt.close(fig)
    return headline


def main(argv: list[str] | None = None) -> list[dict]:
    parser = suite_parser("tabular", __doc__, PRESETS, methods_help=f"comma-separated, from {list(METHODS)}",
                          data_root_help="folder with UCI Adult's official files, or a CSV/Parquet file (--target)")
    parser.add_argument("--target", default=None, help="the label column of a --data-root table file (two classes)")
    parser.add_argument("--seeds", type=int, default=None, help="override the preset's number of seeds")
    parser.add_argument("--epochs", type=int, default=None, help="override the preset's pretraining epochs")
    args = parser.parse_args(argv)
    if args.data_root is not None and not args.data_root.exists():
        parser.error(f"--data-root {args.data_root}: no such file or folder")
    pyplot("selfsup-tabular")  # a missing plotting extra fails before the runs
    rows = run(args)
    summary = summarize(rows)
    write_outputs(rows, summary, args.output, args.preset)
    print((args.output / "results.md").read_text())
    return rows


if __name__ == "__main__":
    main()
