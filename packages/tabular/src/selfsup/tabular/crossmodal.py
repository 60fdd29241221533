"""The table side of ``selfsup bench crossmodal``: an FT-Transformer (one token per column + the core trunk,
sized like the image and audio trunks), T-JEPA (masked feature tokens predicted in latent space, the
tabular suite's trunk method), and the tabular suite's logistic-regression probe on frozen features."""

from __future__ import annotations

from pathlib import Path

import torch

from selfsup.core.bench.transfer import TransferTask
from selfsup.tabular.bench import FRACTIONS, labeled_subset, load_split, probe_lr
from selfsup.tabular.build import build_encoder, build_method
from selfsup.tabular.preprocessing import TablePreprocessor
from selfsup.tabular.sklearn_api import TableRows, encode

# trunk sizes agree across the domains' tasks (mini: 128 wide, 4 blocks, 4 heads, MLP ratio 4; tiny: ViT-Ti)
TRUNKS = {"mini": dict(dim=128, depth=4, heads=4), "tiny": dict(dim=192, depth=12, heads=3)}
RECIPES = {"smoke": {"trunk": "mini", "epochs": 1, "embedded_epochs": 2, "rows": 3000},
           "default": {"trunk": "mini", "epochs": 10, "embedded_epochs": 100, "rows": None},
           "gpu": {"trunk": "tiny", "epochs": 50, "embedded_epochs": 300, "rows": None}}


def table_task(preset: str = "default", data_root: Path | None = None, seed: int = 0) -> TransferTask:
    """T-JEPA on the training rows of UCI Adult (``data_root``) or the embedded breast-cancer table, labels
    unused; scored by ROC-AUC and accuracy of a logistic regression on frozen features, fitted on 10% and
    100% of the training labels, on the test rows."""
    recipe = RECIPES[preset]
    x_train, y_train, x_test, y_test, name = load_split(data_root, seed, rows=recipe["rows"])
    prep = TablePreprocessor().fit(x_train)
    train_table, test_table = prep.transform(x_train), prep.transform(x_test)
    rows = TableRows(train_table)

    def make_encoder():
        return build_encoder("ft_transformer", prep, mlp_ratio=4.0, **TRUNKS[recipe["trunk"]])

    def score(encoder, device: torch.device) -> dict[str, float]:
        was_training = encoder.training
        f_train, f_test = encode(encoder, train_table), encode(encoder, test_table)
        encoder.train(was_training)
        out = {}
        for fraction in FRACTIONS:
            idx = labeled_subset(y_train, fraction, seed)
            result = probe_lr(f_train[idx], y_train.iloc[idx], f_test, y_test)
            out[f"roc_auc_{int(fraction * 100)}"] = float(result["roc_auc"])
            out[f"accuracy_{int(fraction * 100)}"] = float(result["accuracy"])
        return out

    embedded = data_root is None
    return TransferTask(domain="tabular", data=f"{name} ({len(rows)} pretraining / {len(x_test)} test rows, "
                        f"{prep.num_numeric} numeric + {len(prep.cardinalities)} categorical column tokens)",
                        make_encoder=make_encoder, make_method=lambda encoder: build_method("tjepa", encoder, prep),
                        train_set=rows, collate_fn=rows.collate, method_name="T-JEPA", evaluate=score,
                        metrics=("roc_auc_10", "roc_auc_100", "accuracy_100"),
                        epochs=recipe["embedded_epochs" if embedded else "epochs"], batch_size=128 if embedded else 256,
                        lr=1e-3, weight_decay=1e-5)
