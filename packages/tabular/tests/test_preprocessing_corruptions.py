"""DataFrame preprocessing (missing values, unseen levels) and the vectorised corruptions."""

import numpy as np
import pandas as pd
import pytest
import torch

from selfsup.core.trunk import random_mask
from selfsup.tabular import TableBatch, TablePreprocessor, feature_subsets, marginal_resample, mask_values
from selfsup.tabular.preprocessing import MISSING, UNKNOWN


def _frame():
    return pd.DataFrame({
        "age": [20.0, 30.0, np.nan, 50.0, 60.0, 35.0],
        "income": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        "empty": [np.nan] * 6,
        "city": ["a", "b", None, "a", "c", "b"],
        "flag": [True, False, True, True, False, False],
    })


@pytest.mark.parametrize("scaling", ["quantile", "standard"])
def test_numeric_scaling_missing_indicators_and_codes(scaling):
    prep = TablePreprocessor(scaling=scaling).fit(_frame())
    assert prep.numeric_ == ["age", "income", "empty", "flag"] and prep.categorical_ == ["city"]  # a bool is 0/1
    assert prep.feature_names() == ["age", "income", "empty", "flag", "age__missing", "empty__missing", "city"]
    table = prep.transform(_frame())
    assert table.numeric.shape == (6, 6) and table.categorical.shape == (6, 1)
    assert table.numeric[2, 4] == 1 and table.numeric[0, 4] == 0  # age missing indicator
    assert (table.numeric[:, 5] == 1).all() and (table.numeric[:, 2] == 0).all()  # all-missing at fit
    assert torch.isfinite(table.numeric).all()
    assert table.numeric[:, 1].argsort().tolist() == list(range(6))  # monotone scaling
    assert (table.numeric[:, 3] > 0).tolist() == _frame()["flag"].tolist()
    assert table.categorical[2, 0] == MISSING and len(set(table.categorical[:, 0].tolist())) == 4
    assert prep.cardinalities == [3 + 2]


def test_unseen_levels_and_all_missing_columns_at_transform():
    prep = TablePreprocessor().fit(_frame())
    new = pd.DataFrame({"age": [np.nan, np.nan], "income": [np.nan, 100.0], "empty": [1.0, np.nan],
                        "city": ["zurich", None], "flag": [None, True]})
    table = prep.transform(new)
    assert table.categorical[0, 0] == UNKNOWN and table.categorical[1, 0] == MISSING
    assert (table.numeric[:, 4] == 1).all() and torch.isfinite(table.numeric).all()
    assert table.numeric[1, 3] > 0  # True, read from an object column holding None


def test_preprocessing_errors_are_named():
    with pytest.raises(ValueError, match="empty table"):
        TablePreprocessor().fit(_frame().iloc[:0])
    with pytest.raises(ValueError, match=r"columns \['nope'\] are not in the table"):
        TablePreprocessor(numeric=["nope"]).fit(_frame())
    with pytest.raises(ValueError, match=r"lacks the fitted columns \['city'\]"):
        TablePreprocessor().fit(_frame()).transform(_frame().drop(columns="city"))
    with pytest.raises(TypeError, match="DataFrame"):
        TablePreprocessor().fit(np.zeros((3, 2)))


def _table(n=64):
    gen = torch.Generator().manual_seed(0)
    return TableBatch(torch.randn(n, 3, generator=gen), torch.randint(2, 9, (n, 2), generator=gen))


def test_marginal_resampling_draws_from_each_column():
    table = _table()
    mask = random_mask(64, 5, 0.6, generator=torch.Generator().manual_seed(1))
    corrupted = marginal_resample(table, mask, generator=torch.Generator().manual_seed(2))
    assert mask.sum(dim=1).tolist() == [3] * 64  # exactly the requested fraction per row
    num_mask, cat_mask = mask[:, :3], mask[:, 3:]
    assert torch.equal(corrupted.numeric[~num_mask], table.numeric[~num_mask])
    assert torch.equal(corrupted.categorical[~cat_mask], table.categorical[~cat_mask])
    for j in range(3):  # replaced values come from the same column
        column = set(table.numeric[:, j].tolist())
        assert set(corrupted.numeric[num_mask[:, j], j].tolist()) <= column
    changed = (corrupted.numeric != table.numeric)[num_mask].float().mean()
    assert changed > 0.9  # a different row almost always
    with pytest.raises(ValueError, match="mask must be a bool tensor of shape"):
        marginal_resample(table, torch.zeros(64, 4, dtype=torch.bool))


def test_masking_and_feature_subsets():
    table = _table(4)
    mask = torch.zeros(4, 5, dtype=torch.bool)
    mask[:, [0, 4]] = True
    masked = mask_values(table, mask)
    assert (masked.numeric[:, 0] == 0).all() and (masked.categorical[:, 1] == MISSING).all()
    assert torch.equal(masked.numeric[:, 1:], table.numeric[:, 1:])
    subsets = feature_subsets(12, 4, overlap=0.5)
    assert len(subsets) == 4 and torch.stack(subsets).any(dim=0).all()  # every column in some subset
    # blocks of 3 columns, extended by round(0.5 * 3) = 2 columns on each side that has a neighbour
    assert [int(s.sum()) for s in subsets] == [5, 7, 7, 5] and bool((subsets[0] & subsets[1]).any())
