"""What each column of a user's table is, inferred from a sample of its rows: numeric, boolean, datetime,
categorical, or dropped (with the reason), and the expansion of raw rows into the columns the preprocessor takes.

A column of text that is mostly numbers is numeric: its stray values ("n/a", "12 kg") are missing for that row,
counted per column, and never turn the column into a categorical one. Rules (on the sample's non-missing values):

- dropped: no value, one distinct value, or text with more distinct values than half the rows (and over 50): an id
  or free text (``--categorical`` keeps it);
- boolean (one numeric column, 0/1): a bool dtype, or text that is only true/false/yes/no/t/f/y/n;
- numeric: a number dtype, or text of which at least 95 % parse as numbers;
- datetime (numeric parts ``COL.year``, ``.month``, ``.day``, ``.weekday``, ``.hour``, those constant in the sample
  left out): a datetime dtype, or text of which at least 95 % parse as ISO 8601 dates;
- categorical (its levels fitted by the preprocessor): everything else.

Missing: NaN/None, empty text and the tokens ``NA, N/A, NaN, null, None, ?, -`` (any case).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "-"})
BOOLEAN_TOKENS = {"true": 1.0, "false": 0.0, "yes": 1.0, "no": 0.0, "t": 1.0, "f": 0.0, "y": 1.0, "n": 0.0}
DATE_PARTS = ("year", "month", "day", "weekday", "hour")
NUMBER_SHARE = 0.95  # of the non-missing values, for text to count as numbers or dates


def present(series: pd.Series) -> pd.Series:
    """``(N,)`` bool: the value is there (not NaN/None, not an empty or missing-token text)."""
    there = series.notna().to_numpy(copy=True)
    if _is_text(series):
        text = series.astype("string").str.strip().str.lower()
        there &= ~text.isin(MISSING_TOKENS).fillna(True).to_numpy(dtype=bool)
    return pd.Series(there, index=series.index)


def _is_text(series: pd.Series) -> bool:
    return (pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)
            or isinstance(series.dtype, pd.CategoricalDtype))


def as_numbers(series: pd.Series) -> tuple[np.ndarray, int]:
    """``((N,) float64 with NaN for missing, how many present values were not numbers)``; booleans are 0/1,
    infinities are missing."""
    if pd.api.types.is_bool_dtype(series):
        return series.astype("float64").to_numpy(copy=True), 0
    there = present(series).to_numpy()
    if _is_text(series):
        text = series.astype("string").str.strip()
        values = _parse_numbers(text.where(there))
        if (there & np.isnan(values)).any():  # true/false/yes/no are 1/0
            booleans = text.str.lower().map(BOOLEAN_TOKENS).to_numpy(dtype=np.float64, na_value=np.nan)
            values = np.where(np.isnan(values), booleans, values)
    elif pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    values = np.array(values, dtype=np.float64)  # a writable copy
    values[np.isinf(values)] = np.nan
    return values, int((there & np.isnan(values)).sum())


def _parse_numbers(text: pd.Series) -> np.ndarray:
    """``(N,)`` float64 of text cells (NA -> NaN): Arrow's cast, 10x pandas' ``to_numeric`` on clean columns; a
    column with any cell that is not a number goes through ``to_numeric`` (that cell -> NaN)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        return pc.cast(pa.Array.from_pandas(text), pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def as_dates(series: pd.Series) -> pd.Series:
    """Datetimes (NaT for missing or unparseable); text is read as ISO 8601."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return series
    there = present(series)
    text = series.astype("string").str.strip().where(there)
    return pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)


def date_parts(dates: pd.Series) -> dict[str, np.ndarray]:
    """``{part: (N,) float64}`` of :data:`DATE_PARTS`; NaN where the date is missing."""
    dt = dates.dt
    parts = {"year": dt.year, "month": dt.month, "day": dt.day, "weekday": dt.day_of_week, "hour": dt.hour}
    return {k: v.to_numpy(dtype=np.float64, na_value=np.nan) for k, v in parts.items()}


def column_kind(series: pd.Series) -> str:
    """numeric, boolean, datetime or categorical, by the module's rules."""
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_numeric_dtype(series):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    there = present(series)
    text = series.astype("string").str.strip().str.lower()[there]
    if len(text) and text.isin(BOOLEAN_TOKENS).all():
        return "boolean"
    stray = as_numbers(series)[1]
    if len(text) and 1 - stray / len(text) >= NUMBER_SHARE:
        return "numeric"
    if len(text) and as_dates(series)[there].notna().mean() >= NUMBER_SHARE:
        return "datetime"
    return "categorical"


@dataclass
class TableSchema:
    """``kinds``: column -> numeric/boolean/datetime/categorical (feature columns, in table order); ``dropped``:
    column -> why; ``date_parts``: datetime column -> the parts kept; ``target``/``id_column``: kept out of the
    features. JSON-able through :meth:`to_dict` / :meth:`from_dict`."""

    kinds: dict[str, str]
    dropped: dict[str, str] = field(default_factory=dict)
    date_parts: dict[str, list[str]] = field(default_factory=dict)
    target: str | None = None
    id_column: str | None = None

    @classmethod
    def infer(cls, sample: pd.DataFrame, *, numeric: Sequence[str] = (), categorical: Sequence[str] = (),
              drop: Sequence[str] = (), target: str | None = None, id_column: str | None = None) -> TableSchema:
        """Kinds of ``sample``'s columns; the named ones forced (a name the table lacks is an error that lists
        the columns it has)."""
        named = [*numeric, *categorical, *drop, *([target] if target else []), *([id_column] if id_column else [])]
        absent = [c for c in named if c not in sample.columns]
        if absent:
            raise ValueError(f"the table has no column {', '.join(map(repr, absent))} (it has "
                             f"{', '.join(map(str, sample.columns))})")
        both = set(numeric) & set(categorical)
        if both:
            raise ValueError(f"columns {sorted(both)} are named both --numeric and --categorical")
        kinds, dropped, parts = {}, {}, {}
        for column in sample.columns:
            if column in (target, id_column) or column in drop:
                continue
            series = sample[column]
            there = present(series)
            if not there.any():
                dropped[column] = "no values"
                continue
            kind = "numeric" if column in numeric else "categorical" if column in categorical else column_kind(series)
            if kind == "datetime":
                found = date_parts(as_dates(series))
                parts[column] = [k for k, v in found.items() if np.unique(v[~np.isnan(v)]).size > 1]
                if not parts[column]:
                    del parts[column]
                    dropped[column] = "one distinct date"
                    continue
            elif kind == "categorical":
                levels = series[there].astype("string").str.strip().nunique()
                if levels == 1:
                    dropped[column] = "one distinct value"
                    continue
                if column not in categorical and levels > max(50, there.sum() // 2):
                    dropped[column] = (f"{levels} distinct values in {int(there.sum())} sampled rows: an id or "
                                       "free text (--categorical keeps it)")
                    continue
            elif np.unique((values := as_numbers(series)[0])[~np.isnan(values)]).size < 2:
                dropped[column] = "one distinct value"
                continue
            kinds[column] = kind
        if not kinds:
            raise ValueError(f"no usable feature column: {dropped or 'the table has only the target/id columns'}")
        return cls(kinds, dropped, parts, target, id_column)

    @property
    def numeric_names(self) -> list[str]:
        """Numeric feature names after expansion (date parts as ``COL.part``)."""
        names = []
        for column, kind in self.kinds.items():
            if kind in ("numeric", "boolean"):
                names.append(column)
            elif kind == "datetime":
                names += [f"{column}.{p}" for p in self.date_parts[column]]
        return names

    @property
    def categorical_names(self) -> list[str]:
        return [c for c, k in self.kinds.items() if k == "categorical"]

    @property
    def columns(self) -> list[str]:
        """The raw columns to read: features, then target and id if any."""
        return [*self.kinds, *(c for c in (self.target, self.id_column) if c)]

    def expand(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
        """``(features, stray)``: ``features`` has :attr:`numeric_names` (float64, NaN = missing) then
        :attr:`categorical_names` (string, NA = missing); ``stray`` counts, per column, present values that were
        not numbers (or dates) and became missing."""
        absent = [c for c in self.kinds if c not in frame.columns]
        if absent:
            raise ValueError(f"the table lacks the columns {absent} that the encoder was trained on")
        out, stray = {}, {}
        for column, kind in self.kinds.items():
            series = frame[column]
            if kind in ("numeric", "boolean"):
                out[column], bad = as_numbers(series)
            elif kind == "datetime":
                dates = as_dates(series)
                found = date_parts(dates)
                out.update({f"{column}.{p}": found[p] for p in self.date_parts[column]})
                bad = int((present(series).to_numpy() & dates.isna().to_numpy()).sum())
            else:
                continue
            if bad:
                stray[column] = bad
        features = pd.DataFrame(out, index=frame.index)
        for column in self.categorical_names:
            series = frame[column]
            features[column] = series.astype("string").str.strip().where(present(series))
        return features, stray

    def to_dict(self) -> dict:
        return {"kinds": self.kinds, "dropped": self.dropped, "date_parts": self.date_parts, "target": self.target,
                "id_column": self.id_column}

    @classmethod
    def from_dict(cls, values: dict) -> TableSchema:
        return cls(dict(values["kinds"]), dict(values.get("dropped") or {}),
                   {k: list(v) for k, v in (values.get("date_parts") or {}).items()}, values.get("target"),
                   values.get("id_column"))
