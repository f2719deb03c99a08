"""The batch fast path accepts nothing that `check` rejects.

Every constraint of the contract is broken once in an otherwise valid typed frame;
`typed_if_valid` must say no each time, and `check` must explain it.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import sample
from gitops.contract.spec import FieldSpec
from gitops.contract.validate import DataValidationError, check, typed_if_valid


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    return sample.typed().drop(columns=sample.contract().label)


def broken_values(field: FieldSpec) -> list[object]:
    """Values that break one rule of `field` each, as a typed frame would hold them."""
    values: list[object] = [np.nan] if field.required else []
    allowed = field.allowed
    c = field.constraints
    if allowed is not None and field.type in ("integer", "number"):
        values.append(max(allowed) + 1)
    elif allowed is not None:
        values.append("not one of them")
    if c.minimum is not None and allowed is None:
        values.append(float(c.minimum) - 1)
    if c.maximum is not None and allowed is None:
        values.append(float(c.maximum) + 1)
    if field.type == "integer":
        values.append(1.5)
    return values


CASES = [
    (f.name, v)
    for f in sample.contract().fields
    if f.name in sample.contract().input_names and f.name != sample.contract().id
    for v in broken_values(f)
]


def test_valid_records_pass_both(records: pd.DataFrame) -> None:
    numbers = [f.name for f in sample.contract().fields if f.type in ("integer", "number")]
    as_floats = records.astype(dict.fromkeys([n for n in numbers if n in records], "float64"))
    assert typed_if_valid(as_floats, sample.contract()) is not None
    check(records, sample.contract(), "sample", with_label=False)


@pytest.mark.parametrize(("column", "value"), CASES)
def test_each_broken_rule_fails_both(records: pd.DataFrame, column: str, value: object) -> None:
    bad = records.astype({column: object})
    bad.loc[bad.index[7], column] = value
    assert typed_if_valid(bad, sample.contract()) is None
    with pytest.raises(DataValidationError, match=f"column '{column}'"):
        check(bad, sample.contract(), "sample", with_label=False)


@pytest.mark.parametrize("rule", sample.contract().rules, ids=lambda r: r.name)
def test_a_row_breaking_a_rule_hook_fails_both(records: pd.DataFrame, rule: object) -> None:
    """Each rule is broken by moving one of its fields to another row's value."""
    contract = sample.contract()
    fields = rule.fields  # type: ignore[attr-defined]
    for other in range(len(records)):
        bad = records.copy()
        bad.loc[bad.index[3], fields[0]] = records.iloc[other][fields[0]]
        if rule.offending(bad).any():  # type: ignore[attr-defined]
            break
    else:
        pytest.skip(f"no value of the sample breaks {rule}")
    assert typed_if_valid(bad, contract) is None
    with pytest.raises(DataValidationError, match=re.escape(rule.message)):  # type: ignore[attr-defined]
        check(bad, contract, "sample", with_label=False)


def test_missing_feature_column_fails_both(records: pd.DataFrame) -> None:
    name = sample.contract().feature_names[-1]
    bad = records.drop(columns=name)
    assert typed_if_valid(bad, sample.contract()) is None
    with pytest.raises(DataValidationError, match=rf"'{name}'.* is missing"):
        check(bad, sample.contract(), "sample", with_label=False)
