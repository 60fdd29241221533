"""A scikit-learn transformer: fit a self-supervised encoder on a table, transform rows into features.

    from sklearn.pipeline import make_pipeline
    from sklearn.linear_model import LogisticRegression
    model = make_pipeline(SelfSupervisedEncoder(method="scarf"), LogisticRegression())
    model.fit(X_df, y)

Works on DataFrames (numeric and categorical columns, missing values) and numeric arrays;
``set_output(transform="pandas")`` returns DataFrames with ``get_feature_names_out()`` columns.

An encoder trained by ``selfsup pretrain tabular`` becomes a fitted transformer with :meth:`from_run` (the run's
column schema and preprocessing included), which ``selfsup export --format sklearn`` saves with skops: its state is
numbers, text and arrays (the encoder's weights as arrays, its build spec, the preprocessing as plain values), so
``skops.io.load`` needs to trust only this class, never a pickle.
"""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data
from torch.utils.data import Dataset

from selfsup.core.train import TrainConfig, Trainer
from selfsup.tabular.build import build_encoder, build_method
from selfsup.tabular.preprocessing import TableBatch, TablePreprocessor
from selfsup.tabular.schema import TableSchema


class TableRows(Dataset):
    """Row indices over a :class:`TableBatch`; ``collate`` gathers a batch of rows."""

    def __init__(self, table: TableBatch) -> None:
        self.table = table

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, index: int) -> int:
        return index

    def collate(self, indices: list[int]) -> TableBatch:
        return self.table[torch.as_tensor(indices)]


def encode(encoder: torch.nn.Module, table: TableBatch, batch_size: int = 4096) -> np.ndarray:
    """``(N, out_dim)`` float64 features of ``encoder`` in eval mode (computed in the encoder's dtype)."""
    encoder.eval()
    weight = next(encoder.parameters())
    parts = []
    with torch.no_grad():
        for i in range(0, len(table), batch_size):
            rows = table[i : i + batch_size].to(weight.device)
            parts.append(encoder(TableBatch(rows.numeric.to(weight.dtype), rows.categorical)).cpu().double())
    return torch.cat(parts).numpy()


class SelfSupervisedEncoder(TransformerMixin, BaseEstimator):
    """Self-supervised features of table rows.

    Args:
        method: ``"scarf"``, ``"vime"``, ``"subtab"``, ``"dae"`` or ``"tjepa"`` (needs ``encoder="ft_transformer"``).
        encoder: ``"mlp"`` (categorical embeddings + MLP) or ``"ft_transformer"``.
        out_dim: number of output features.
        epochs: pretraining epochs (AdamW, warm-up + cosine).
        batch_size: pretraining batch size.
        lr: peak learning rate.
        weight_decay: AdamW weight decay.
        scaling: numeric scaling, ``"quantile"`` or ``"standard"``.
        encoder_params: extra keyword arguments of the encoder.
        method_params: extra keyword arguments of the method.
        random_state: seed; the same seed gives the same features.
    """

    def __init__(self, method: str = "scarf", encoder: str = "mlp", out_dim: int = 128, epochs: int = 20,
                 batch_size: int = 256, lr: float = 1e-3, weight_decay: float = 1e-5, scaling: str = "quantile",
                 encoder_params: dict | None = None, method_params: dict | None = None, random_state: int = 0,
                 device: str | None = None) -> None:
        self.method, self.encoder, self.out_dim, self.epochs = method, encoder, out_dim, epochs
        self.batch_size, self.lr, self.weight_decay, self.scaling = batch_size, lr, weight_decay, scaling
        self.encoder_params, self.method_params = encoder_params, method_params
        self.random_state, self.device = random_state, device

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.non_deterministic = False
        return tags

    def _frame(self, X, reset: bool) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=reset, skip_check_array=True)
            if X.shape[1] == 0:
                raise ValueError("0 feature(s) (shape=(n, 0)) while a minimum of 1 is required")
            return X
        array = validate_data(self, X, reset=reset, ensure_all_finite="allow-nan", dtype=np.float64,
                              ensure_min_samples=1)
        return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])

    def fit(self, X, y=None):
        frame = self._frame(X, reset=True)
        if len(frame) < 2:
            raise ValueError(f"n_samples = {len(frame)}: self-supervised pretraining needs at least 2 samples "
                             "(1 sample has nothing to contrast or corrupt with)")
        self.preprocessor_ = TablePreprocessor(scaling=self.scaling).fit(frame)
        table = self.preprocessor_.transform(frame)
        torch.manual_seed(self.random_state)
        self.encoder_ = build_encoder(self.encoder, self.preprocessor_, out_dim=self.out_dim,
                                      **(self.encoder_params or {})) if self.encoder == "mlp" else \
            build_encoder(self.encoder, self.preprocessor_, **(self.encoder_params or {}))
        method = build_method(self.method, self.encoder_, self.preprocessor_, **(self.method_params or {}))
        rows = TableRows(table)
        batch = min(self.batch_size, len(rows))
        with tempfile.TemporaryDirectory() as tmp:
            config = TrainConfig(output_dir=tmp, epochs=self.epochs, batch_size=batch, lr=self.lr,
                                 weight_decay=self.weight_decay, warmup_steps=0, seed=self.random_state,
                                 checkpoint_every=10**9, keep_checkpoints=1, progress=False, log_every=10**9,
                                 device=self.device)
            self.training_ = Trainer(method, rows, config, collate_fn=rows.collate).fit()
        # inference in float64: a row's features do not depend on the other rows of the batch (BLAS
        # reductions in float32 differ at 1e-7 between batch sizes)
        self.encoder_.cpu().double().eval()
        self.n_features_out_ = encode(self.encoder_, table[:1]).shape[1]
        return self

    def transform(self, X) -> np.ndarray:
        check_is_fitted(self, "encoder_")
        frame = self._frame(X, reset=False)
        schema = getattr(self, "schema_", None)
        if schema is not None:  # a run's encoder: its column rules (kinds, date parts, stray text) first
            frame, _ = schema.expand(frame)
        return encode(self.encoder_, self.preprocessor_.transform(frame))

    @classmethod
    def from_run(cls, encoder: torch.nn.Module, encoder_dir: str | Path) -> SelfSupervisedEncoder:
        """The fitted transformer of a ``selfsup pretrain tabular`` run: ``encoder`` (its ``encoder/``, loaded) with
        the column schema and preprocessing recorded beside it (``data_config.json``). ``transform`` then takes the
        table's original columns and gives what ``selfsup embed tabular`` gives (in float64)."""
        from selfsup.core.own_data_cli import read_data_config

        try:
            data = read_data_config(encoder_dir)["data"]
            schema, preprocessor = TableSchema.from_dict(data["schema"]), TablePreprocessor.from_state(
                data["preprocessor"])
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{encoder_dir}: no table preprocessing of a selfsup pretrain tabular run "
                             f"(data_config.json: {err})") from None
        spec = encoder.selfsup_spec
        kwargs = {k: v for k, v in spec["kwargs"].items() if k not in ("num_numeric", "cardinalities")}
        fitted = cls(encoder=spec["name"].removeprefix("tabular_"), encoder_params=kwargs,
                     scaling=preprocessor.scaling)
        fitted.schema_, fitted.preprocessor_ = schema, preprocessor
        fitted.feature_names_in_ = np.asarray(list(schema.kinds), dtype=object)
        fitted.n_features_in_ = len(schema.kinds)
        fitted.encoder_ = copy.deepcopy(encoder).cpu().double().eval()
        fitted.n_features_out_ = encoder.out_dim
        return fitted

    def __getstate__(self) -> dict:
        """Plain values only (skops-safe): the encoder as its build spec and weight arrays, the preprocessing and
        schema as their dictionaries; the training summary is left out."""
        state = dict(super().__getstate__())  # a copy: object.__getstate__ gives the live __dict__
        if "encoder_" in state:
            encoder = state.pop("encoder_")
            state["encoder_spec_"] = json.dumps(encoder.selfsup_spec)
            state["encoder_weights_"] = {k: v.detach().cpu().numpy() for k, v in encoder.state_dict().items()}
        if "preprocessor_" in state:
            state["preprocessor_"] = json.dumps(state["preprocessor_"].to_state())
        if state.get("schema_") is not None:
            state["schema_"] = json.dumps(state["schema_"].to_dict())
        state.pop("training_", None)
        return state

    def __setstate__(self, state: dict) -> None:
        from selfsup.core.registry import create_encoder

        state = dict(state)
        if "encoder_spec_" in state:
            spec = json.loads(state.pop("encoder_spec_"))
            encoder = create_encoder(spec["name"], **spec["kwargs"]).double()
            weights = {k: torch.from_numpy(np.asarray(v)) for k, v in state.pop("encoder_weights_").items()}
            encoder.load_state_dict(weights, strict=True)
            state["encoder_"] = encoder.eval()
        if isinstance(state.get("preprocessor_"), str):
            state["preprocessor_"] = TablePreprocessor.from_state(json.loads(state["preprocessor_"]))
        if isinstance(state.get("schema_"), str):
            state["schema_"] = TableSchema.from_dict(json.loads(state["schema_"]))
        super().__setstate__(state)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "encoder_")
        return np.asarray([f"ssl{i}" for i in range(self.n_features_out_)], dtype=object)
