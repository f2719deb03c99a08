"""Per-row validation for monitoring: broken rows are listed, the others kept and typed."""

from __future__ import annotations

from pathlib import Path

import pytest

import sample
from gitops.contract import reading
from gitops.contract.validate import DataValidationError, check, split_valid

CONTRACT = sample.contract()
LABEL = CONTRACT.label
COUNT = sample.first("numeric", bounded=True).name
CODED = sample.fields("categorical")[0]
OTHER_NUMBER = next(f.name for f in sample.fields("numeric") if f.name != COUNT)


def _batch(tmp_path: Path, edits: dict[int, tuple[str, str]], *, rows: int = 30) -> Path:
    """The first `rows` records of the sample, with cell edits {line: (column, text)}."""
    lines = sample.raw_path().read_text().splitlines()[: rows + 1]
    for line, (column, text) in edits.items():
        cells = lines[line - 1].split(",")
        cells[sample.column_index(column)] = text
        lines[line - 1] = ",".join(cells)
    path = tmp_path / "batch.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _read(path: Path):
    return reading.read_csv(path, CONTRACT)


def test_broken_rows_are_listed_by_line_column_and_rule(tmp_path: Path) -> None:
    low = f"{float(sample.contract().field(COUNT).constraints.minimum) - 2:g}"
    path = _batch(tmp_path, {3: (COUNT, low), 5: (OTHER_NUMBER, "x"), 9: (LABEL, "2")})
    valid, failures = split_valid(_read(path), CONTRACT, str(path))
    assert len(valid) == 27
    assert {3, 5, 9}.isdisjoint(valid.index)
    got = set(zip(failures["line"], failures["column"], failures["rule"], strict=True))
    minimum = f"{CONTRACT.field(COUNT).constraints.minimum:g}"
    assert got == {
        (3, COUNT, f"must be >= {minimum}"),
        (5, OTHER_NUMBER, "must be a number"),
        (9, LABEL, f"must be {CONTRACT.label_field.rule()}"),  # checked when present
    }
    assert failures.loc[failures["line"] == 5, "value"].item() == "'x'"
    whole = "int64" if valid[COUNT].notna().all() else "float64"  # blanks make floats
    assert str(valid.dtypes[COUNT]) == whole


def test_split_valid_and_check_share_their_rules(tmp_path: Path) -> None:
    path = _batch(tmp_path, {4: (CODED.name, "999"), 6: (COUNT, "-1")})
    frame = _read(path)
    _, failures = split_valid(frame, CONTRACT, str(path))
    assert len(failures) == 2
    with pytest.raises(DataValidationError) as err:
        check(frame, CONTRACT, str(path))
    for rule in failures["rule"]:
        assert any(rule in problem for problem in err.value.problems)


def test_a_batch_without_labels_or_info_is_checked_on_features(tmp_path: Path) -> None:
    frame = _read(_batch(tmp_path, {})).drop(columns=[LABEL, *CONTRACT.roles.info])
    valid, failures = split_valid(frame, CONTRACT, "batch.csv")
    assert failures.empty
    assert [c for c in valid.columns if c != CONTRACT.id] == CONTRACT.feature_names


def test_missing_columns_still_refuse_the_file(tmp_path: Path) -> None:
    frame = _read(_batch(tmp_path, {})).drop(columns=[COUNT])
    with pytest.raises(DataValidationError, match=rf"'{COUNT}'.*missing"):
        split_valid(frame, CONTRACT, "batch.csv")


def test_an_empty_label_is_unknown_not_an_error(tmp_path: Path) -> None:
    path = _batch(tmp_path, {4: (LABEL, ""), 7: (LABEL, "")})
    valid, failures = split_valid(_read(path), CONTRACT, str(path))
    assert failures.empty
    assert len(valid) == 30
    assert valid[LABEL].isna().sum() == 2
