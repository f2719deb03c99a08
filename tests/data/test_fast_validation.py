"""The batch fast path accepts nothing that `validation.check` rejects.

Every rule of the schema is broken once in an otherwise valid numeric frame; `passes`
must say no each time, and `check` must explain it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn import schema, validation
from support import ROOT


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    raw = validation.read_csv(ROOT / "data/raw/iranian_churn.csv")
    typed = validation.check(raw, "sample", require_target=False)
    return typed.drop(columns=schema.TARGET).astype("float64")


def broken_values(col: schema.Column) -> list[float]:
    values = [np.nan]
    if col.allowed is not None:
        values.append(max(col.allowed) + 1)
    if col.minimum is not None:
        values.append(col.minimum - 1)
    if col.maximum is not None:
        values.append(col.maximum + 1)
    if col.dtype == "int":
        values.append(1.5)
    return values


CASES = [(c.name, v) for c in schema.input_columns() for v in broken_values(c)]


def test_valid_records_pass_both(records: pd.DataFrame) -> None:
    assert validation.passes(records, require_target=False)
    validation.check(records, "sample", require_target=False)


@pytest.mark.parametrize(("column", "value"), CASES)
def test_each_broken_rule_fails_both(records: pd.DataFrame, column: str, value: float) -> None:
    bad = records.copy()
    bad.loc[bad.index[7], column] = value
    assert not validation.passes(bad, require_target=False)
    with pytest.raises(validation.DataValidationError, match=f"column '{column}'"):
        validation.check(bad, "sample", require_target=False)


def test_age_not_matching_its_group_fails_both(records: pd.DataFrame) -> None:
    bad = records.copy()
    row = bad.index[3]
    bad.loc[row, "age"] = 55.0 if bad.loc[row, "age_group"] != 5 else 15.0
    assert not validation.passes(bad, require_target=False)
    with pytest.raises(validation.DataValidationError, match="must match age_group"):
        validation.check(bad, "sample", require_target=False)


def test_missing_feature_column_fails_both(records: pd.DataFrame) -> None:
    bad = records.drop(columns="status")
    assert not validation.passes(bad, require_target=False)
    with pytest.raises(validation.DataValidationError, match=r"'status'.* is missing"):
        validation.check(bad, "sample", require_target=False)
