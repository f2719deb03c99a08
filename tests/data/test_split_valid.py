"""Per-row validation for monitoring: broken rows are listed, the others kept and typed."""

from __future__ import annotations

from pathlib import Path

import pytest

from churn import schema, validation
from support import ROOT

RAW = ROOT / "data/raw/iranian_churn.csv"


def _batch(tmp_path: Path, edits: dict[int, tuple[int, str]], *, rows: int = 30) -> Path:
    """The first `rows` customers of the sample, with cell edits {line: (column index, text)}."""
    lines = RAW.read_text().splitlines()[: rows + 1]
    for line, (col, text) in edits.items():
        cells = lines[line - 1].split(",")
        cells[col] = text
        lines[line - 1] = ",".join(cells)
    path = tmp_path / "batch.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_broken_rows_are_listed_by_line_column_and_rule(tmp_path: Path) -> None:
    path = _batch(tmp_path, {3: (0, "-2"), 5: (2, "x"), 9: (13, "2")})
    valid, failures = validation.split_valid(validation.read_csv(path), str(path))
    assert len(valid) == 27
    assert {3, 5, 9}.isdisjoint(valid.index)
    got = set(zip(failures["line"], failures["column"], failures["rule"], strict=True))
    assert got == {
        (3, "call_failures", "must be >= 0"),
        (5, "subscription_months", "must be a number"),
        (9, "churn", "must be one of 0, 1"),  # the label is checked when present
    }
    assert failures.loc[failures["line"] == 5, "value"].item() == "'x'"
    assert str(valid.dtypes["call_failures"]) == "int64"


def test_split_valid_and_check_share_their_rules(tmp_path: Path) -> None:
    path = _batch(tmp_path, {4: (1, "3"), 6: (11, "55")})
    frame = validation.read_csv(path)
    _, failures = validation.split_valid(frame, str(path))
    with pytest.raises(validation.DataValidationError) as err:
        validation.check(frame, str(path))
    for rule in failures["rule"]:
        assert any(rule in problem for problem in err.value.problems)


def test_a_batch_without_labels_or_age_is_checked_on_features(tmp_path: Path) -> None:
    frame = validation.read_csv(_batch(tmp_path, {})).drop(columns=["churn", "age"])
    valid, failures = validation.split_valid(frame, "batch.csv")
    assert failures.empty
    assert list(valid.columns) == schema.feature_names()


def test_missing_columns_still_refuse_the_file(tmp_path: Path) -> None:
    frame = validation.read_csv(_batch(tmp_path, {})).drop(columns=["call_count"])
    with pytest.raises(validation.DataValidationError, match=r"'call_count'.*missing"):
        validation.split_valid(frame, "batch.csv")


def test_an_empty_label_is_unknown_not_an_error(tmp_path: Path) -> None:
    path = _batch(tmp_path, {4: (13, ""), 7: (13, "")})
    valid, failures = validation.split_valid(validation.read_csv(path), str(path))
    assert failures.empty
    assert len(valid) == 30
    assert valid[schema.TARGET].isna().sum() == 2
