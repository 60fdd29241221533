"""Table encoders for scikit-learn: ``--format sklearn`` writes the run's encoder with its column schema and
preprocessing as one fitted :class:`~selfsup.tabular.sklearn_api.SelfSupervisedEncoder`, saved with skops (``.skops``).
skops rather than joblib: joblib is pickle, which runs whatever code a file names; the transformer's state is plain
values and arrays, so ``skops.io.load`` needs to trust this one class and nothing else. The check loads the file with
skops and compares its ``transform`` of random rows (the original columns) with the encoder on the same rows prepared
as ``selfsup embed tabular`` prepares them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from selfsup.core.export import Exported, NotExportable, compare, encoder_kwargs
from selfsup.core.own_data_cli import DATA_CONFIG
from selfsup.tabular.preprocessing import TableBatch
from selfsup.tabular.sklearn_api import SelfSupervisedEncoder

TRUSTED = ["selfsup.tabular.sklearn_api.SelfSupervisedEncoder"]


def example_tables(encoder: nn.Module, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(numeric (batch, Fn), categorical (batch, Fc))``: standard-normal prepared numbers and valid category codes
    for the encoder's recorded shape."""
    kwargs = encoder_kwargs(encoder)
    numeric = torch.randn(batch, kwargs["num_numeric"])
    cards = list(kwargs["cardinalities"])
    categorical = torch.stack([torch.randint(0, c, (batch,)) for c in cards], dim=1) if cards else \
        torch.zeros(batch, 0, dtype=torch.long)
    return numeric, categorical


def random_rows(fitted: SelfSupervisedEncoder, count: int, seed: int = 0) -> pd.DataFrame:
    """``count`` rows in the run's original columns: numbers, 0/1, dates, known levels, some missing."""
    rng = np.random.default_rng(seed)
    columns = {}
    levels = fitted.preprocessor_.levels_
    for column, kind in fitted.schema_.kinds.items():
        if kind == "numeric":
            values = pd.Series(rng.normal(size=count))
        elif kind == "boolean":
            values = pd.Series(rng.integers(0, 2, count).astype(float))
        elif kind == "datetime":
            values = pd.Series(pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 10**8, count), unit="s"))
            values = values.dt.strftime("%Y-%m-%dT%H:%M:%S")
        else:
            known = list(levels.get(column, {})) or ["a"]
            values = pd.Series(np.asarray(known, dtype=object)[rng.integers(0, len(known), count)])
        values[rng.random(count) < 0.1] = None
        columns[column] = values
    return pd.DataFrame(columns)


def export_sklearn(encoder: nn.Module, output: Path, *, encoder_dir: Path | None = None, **_) -> Exported:
    """``output`` (``.skops``): the fitted transformer of the run, reloaded with ``skops.io.load`` and compared."""
    try:
        import skops.io as sio
    except ImportError:
        raise ImportError("--format sklearn needs skops: pip install selfsup-tabular[sklearn]") from None
    if encoder_dir is None or not (Path(encoder_dir) / DATA_CONFIG).is_file():
        raise NotExportable("--format sklearn needs the run's table preprocessing: give the encoder/ folder of a "
                            "selfsup pretrain tabular run")
    fitted = SelfSupervisedEncoder.from_run(encoder, encoder_dir)
    sio.dump(fitted, output)
    untrusted = sorted(set(sio.get_untrusted_types(file=output)) - set(TRUSTED))
    if untrusted:
        raise ValueError(f"sklearn {output}: skops would have to trust {untrusted}; not kept")
    loaded = sio.load(output, trusted=TRUSTED)
    rows = random_rows(fitted, 16)
    features, _ = fitted.schema_.expand(rows)
    prepared = fitted.preprocessor_.transform(features)
    with torch.no_grad():
        reference = encoder.float().eval()(TableBatch(prepared.numeric.float(), prepared.categorical))
    diff = compare(reference, loaded.transform(rows), f"sklearn {output}")
    snippet = ("import skops.io\n"
               f'encoder = skops.io.load("{output}", trusted={TRUSTED!r})\n'
               "features = encoder.transform(table)  # a DataFrame with the training table's columns")
    return Exported("sklearn", output, snippet, diff)
