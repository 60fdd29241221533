"""DataFrame -> tensors: scaled numeric columns with missing indicators, categorical integer codes.

Categorical codes: 0 = missing, 1 = unknown (a level not seen in ``fit``), 2.. = the levels seen.
Numeric columns are quantile-normalised (or standardised); a missing value becomes the training
median (0 after scaling) and sets the column's missing indicator. Columns entirely missing at fit
or at transform time, and unseen categories, are handled.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from sklearn.preprocessing import QuantileTransformer

MISSING, UNKNOWN = 0, 1


@dataclass
class TableBatch:
    """``numeric (B, Fn)`` float32 (scaled values then missing indicators) and ``categorical (B, Fc)`` int64."""

    numeric: torch.Tensor
    categorical: torch.Tensor

    def __len__(self) -> int:
        return self.numeric.shape[0]

    def __getitem__(self, index) -> TableBatch:
        return TableBatch(self.numeric[index], self.categorical[index])

    def to(self, device) -> TableBatch:
        return TableBatch(self.numeric.to(device), self.categorical.to(device))

    @property
    def num_features(self) -> int:
        return self.numeric.shape[1] + self.categorical.shape[1]

    @staticmethod
    def of(batch) -> TableBatch:
        """``batch`` itself, or the ``"numeric"``/``"categorical"`` entries of a dict batch (the rows of a user's
        table, :class:`~selfsup.tabular.datasets.TableRowsSource`)."""
        if isinstance(batch, TableBatch):
            return batch
        return TableBatch(batch["numeric"], batch["categorical"])

    @staticmethod
    def cat(batches: list[TableBatch]) -> TableBatch:
        """Rows of several batches stacked."""
        return TableBatch(torch.cat([b.numeric for b in batches]), torch.cat([b.categorical for b in batches]))


def infer_column_types(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """``(numeric, categorical)`` column names by :mod:`selfsup.tabular.schema`'s rules: numbers, booleans and text
    that is mostly numbers are numeric (a stray string is a missing value, not a category); the rest categorical."""
    from selfsup.tabular.schema import column_kind

    numeric = [c for c in frame.columns if column_kind(frame[c]) in ("numeric", "boolean")]
    return numeric, [c for c in frame.columns if c not in numeric]


class TablePreprocessor:
    """Fit on a DataFrame, then turn DataFrames into :class:`TableBatch` es.

    Args:
        numeric: numeric column names (inferred from dtypes when both lists are None).
        categorical: categorical column names (likewise).
        scaling: ``"quantile"`` (to a normal distribution, robust to heavy tails) or ``"standard"``.

    Values that are not numbers (stray strings, NaN, +-inf) in a numeric column are missing: imputed with the
    column's median and flagged in a ``__missing`` indicator column.
    """

    def __init__(self, numeric: Sequence[str] | None = None, categorical: Sequence[str] | None = None,
                 scaling: str = "quantile") -> None:
        if scaling not in ("quantile", "standard"):
            raise ValueError(f"scaling must be 'quantile' or 'standard', got {scaling!r}")
        self.numeric, self.categorical, self.scaling = numeric, categorical, scaling

    def fit(self, frame: pd.DataFrame) -> TablePreprocessor:
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"expected a pandas DataFrame, got {type(frame).__name__}")
        if len(frame) == 0:
            raise ValueError("cannot fit on an empty table")
        if self.numeric is None and self.categorical is None:
            self.numeric_, self.categorical_ = infer_column_types(frame)
        else:
            self.numeric_, self.categorical_ = list(self.numeric or []), list(self.categorical or [])
        missing_cols = [c for c in [*self.numeric_, *self.categorical_] if c not in frame.columns]
        if missing_cols:
            raise ValueError(f"columns {missing_cols} are not in the table (it has {list(frame.columns)})")
        values = self._numeric_values(frame)
        with warnings.catch_warnings():  # an all-missing column has no median: it is imputed with 0
            warnings.simplefilter("ignore", RuntimeWarning)
            self.medians_ = np.nan_to_num(np.nanmedian(values, axis=0), nan=0.0) if self.numeric_ else np.zeros(0)
        self.indicators_ = [i for i in range(values.shape[1]) if np.isnan(values[:, i]).any()]
        filled = np.where(np.isnan(values), self.medians_, values)
        self.constant_ = filled.std(axis=0) == 0 if self.numeric_ else np.zeros(0, dtype=bool)
        if self.scaling == "quantile" and len(self.numeric_):
            self.scaler_ = QuantileTransformer(output_distribution="normal", n_quantiles=min(1000, len(frame)),
                                               subsample=10**9, random_state=0).fit(filled)
        elif len(self.numeric_):
            mean, std = filled.mean(axis=0), filled.std(axis=0)
            self.scaler_ = (mean, np.where(std > 0, std, 1.0))
        self.levels_ = {c: {v: i + 2 for i, v in enumerate(sorted(frame[c].dropna().astype(str).unique()))}
                        for c in self.categorical_}
        return self

    def _numeric_values(self, frame: pd.DataFrame) -> np.ndarray:
        if not self.numeric_:
            return np.zeros((len(frame), 0))
        from selfsup.tabular.schema import as_numbers  # inf and stray strings become missing

        return np.stack([as_numbers(frame[c])[0] for c in self.numeric_], axis=1)

    @property
    def cardinalities(self) -> list[int]:
        """Vocabulary size of each categorical column (levels + missing + unknown)."""
        return [len(self.levels_[c]) + 2 for c in self.categorical_]

    @property
    def num_numeric(self) -> int:
        """Width of ``numeric``: scaled columns plus missing indicators."""
        return len(self.numeric_) + len(self.indicators_)

    def feature_names(self) -> list[str]:
        return [*self.numeric_, *(f"{self.numeric_[i]}__missing" for i in self.indicators_), *self.categorical_]

    def transform(self, frame: pd.DataFrame) -> TableBatch:
        if not hasattr(self, "levels_"):
            raise RuntimeError("call fit() before transform()")
        absent = [c for c in [*self.numeric_, *self.categorical_] if c not in frame.columns]
        if absent:
            raise ValueError(f"the table lacks the fitted columns {absent}")
        n = len(frame)
        values = self._numeric_values(frame)
        missing = np.isnan(values)
        filled = np.where(missing, self.medians_, values)
        if self.numeric_:
            if self.scaling == "quantile":
                scaled = self.scaler_.transform(filled)
            else:
                scaled = (filled - self.scaler_[0]) / self.scaler_[1]
            scaled[:, self.constant_] = 0.0  # a column constant at fit carries no information
            broken = ~np.isfinite(scaled).all(axis=0)
            if broken.any():  # e.g. values near the float64 limit, whose mean or spread overflows
                names = [self.numeric_[i] for i in np.flatnonzero(broken)]
                raise ValueError(f"columns {names} cannot be scaled: their values are too large (largest magnitude "
                                 f"{np.nanmax(np.abs(values[:, broken])):.3g}); rescale them or drop them")
        else:
            scaled = filled
        numeric = np.concatenate([scaled, missing[:, self.indicators_].astype(np.float64)], axis=1)
        codes = np.zeros((n, len(self.categorical_)), dtype=np.int64)
        for j, column in enumerate(self.categorical_):
            series = frame[column]
            mapped = series.astype(str).map(self.levels_[column]).fillna(UNKNOWN).to_numpy(dtype=np.int64)
            codes[:, j] = np.where(series.isna().to_numpy(), MISSING, mapped)
        return TableBatch(torch.as_tensor(numeric, dtype=torch.float32), torch.as_tensor(codes))

    def to_state(self) -> dict:
        """The fitted preprocessor as plain lists and numbers (JSON/YAML-able): what ``embed`` needs to prepare new
        rows exactly as the training rows were."""
        if not hasattr(self, "levels_"):
            raise RuntimeError("call fit() before to_state()")
        state = {"scaling": self.scaling, "numeric": self.numeric_, "categorical": self.categorical_,
                 "medians": self.medians_.tolist(), "indicators": self.indicators_,
                 "constant": np.flatnonzero(self.constant_).tolist(),
                 "levels": {c: sorted(v, key=v.get) for c, v in self.levels_.items()}}
        if self.numeric_ and self.scaling == "quantile":
            state["quantiles"] = self.scaler_.quantiles_.T.tolist()
        elif self.numeric_:
            state["mean_std"] = [self.scaler_[0].tolist(), self.scaler_[1].tolist()]
        return state

    @classmethod
    def from_state(cls, state: dict) -> TablePreprocessor:
        """The preprocessor :meth:`to_state` described, fitted."""
        self = cls(state["numeric"], state["categorical"], state["scaling"])
        self.numeric_, self.categorical_ = list(state["numeric"]), list(state["categorical"])
        self.medians_ = np.asarray(state["medians"], dtype=np.float64)
        self.indicators_ = list(state["indicators"])
        self.constant_ = np.zeros(len(self.numeric_), dtype=bool)
        self.constant_[list(state["constant"])] = True
        self.levels_ = {c: {v: i + 2 for i, v in enumerate(levels)} for c, levels in state["levels"].items()}
        if self.numeric_ and self.scaling == "quantile":
            quantiles = np.asarray(state["quantiles"], dtype=np.float64).T
            scaler = QuantileTransformer(output_distribution="normal", n_quantiles=len(quantiles))
            scaler.quantiles_, scaler.references_ = quantiles, np.linspace(0, 1, len(quantiles))
            scaler.n_quantiles_, scaler.n_features_in_ = len(quantiles), quantiles.shape[1]
            self.scaler_ = scaler
        elif self.numeric_:
            self.scaler_ = tuple(np.asarray(v, dtype=np.float64) for v in state["mean_std"])
        return self

    def fit_transform(self, frame: pd.DataFrame) -> TableBatch:
        return self.fit(frame).transform(frame)
