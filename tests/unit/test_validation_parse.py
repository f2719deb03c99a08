"""Parsing numbers fast without changing what validation accepts or how it reports errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import sample
from gitops.contract import parse, reading
from gitops.contract.validate import DataValidationError, check, typed_if_valid

CONTRACT = sample.contract()
COUNT = sample.first("numeric", bounded=True).name  # an integer
AMOUNT = next(f.name for f in CONTRACT.features if f.type == "number")


def _with_values(tmp_path: Path, values: dict[tuple[int, str], str]) -> Path:
    """The sample's first 50 rows with some cells replaced: (row, column) -> text."""
    lines = sample.raw_path().read_text().splitlines()[:51]
    for (row, column), text in values.items():
        cells = lines[row + 1].split(",")
        cells[sample.column_index(column)] = text
        lines[row + 1] = ",".join(cells)
    path = tmp_path / "records.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _check(path: Path) -> pd.DataFrame:
    return check(reading.read_csv(path, CONTRACT), CONTRACT, str(path))


def test_plain_numbers_take_the_vectorised_path_and_parse_like_the_careful_one() -> None:
    raw = pd.Series(["1", "2.5", "-0", "1e3", "+5"], dtype="str")
    fast = parse._clean_floats(raw)
    careful = pd.to_numeric(raw.astype("string").str.strip(), errors="coerce").astype("float64")
    assert fast is not None
    assert fast.tolist() == careful.tolist() == [1.0, 2.5, 0.0, 1000.0, 5.0]
    assert str(fast.iloc[2]) == "0.0", "-0 must become 0.0, as the careful path gives"


@pytest.mark.parametrize("text", [" 3", "4 ", "nan", "abc", "1_000", "0x10", "", "１２"])
def test_anything_unusual_falls_back_to_the_careful_path(text: str) -> None:
    assert parse._clean_floats(pd.Series(["1", text], dtype="str")) is None


def test_values_with_blanks_around_them_are_accepted(tmp_path: Path) -> None:
    path = _with_values(tmp_path, {(3, COUNT): "4 ", (5, AMOUNT): "12.5 "})
    frame = _check(path)
    assert frame.loc[5, COUNT] == 4
    assert frame.loc[7, AMOUNT] == 12.5


def test_words_are_still_reported_by_line_and_column(tmp_path: Path) -> None:
    path = _with_values(tmp_path, {(3, COUNT): "many", (8, AMOUNT): "nan"})
    with pytest.raises(DataValidationError) as err:
        _check(path)
    text = str(err.value)
    assert f"column '{COUNT}': must be a number: 1 row(s) fail: line 5 ('many')" in text
    assert f"column '{AMOUNT}': must be a number: 1 row(s) fail: line 10 ('nan')" in text


def test_infinite_values_are_reported_instead_of_crashing_the_cast(tmp_path: Path) -> None:
    path = _with_values(tmp_path, {(3, COUNT): "Infinity", (4, AMOUNT): "-inf"})
    with pytest.raises(DataValidationError) as err:
        _check(path)
    text = str(err.value)
    assert f"column '{COUNT}': must be a finite number: 1 row(s) fail: line 5" in text
    assert f"column '{AMOUNT}': must be a finite number: 1 row(s) fail: line 6" in text
    assert "must not be empty" not in text


def test_scoring_fast_path_refuses_infinity_as_check_does() -> None:
    frame = sample.typed().head(20).drop(columns=CONTRACT.label)
    assert typed_if_valid(frame, CONTRACT) is not None
    frame = frame.astype({COUNT: "float64"})
    frame.loc[frame.index[3], COUNT] = float("inf")
    assert typed_if_valid(frame, CONTRACT) is None


def test_missing_value_tokens_are_blanks_only_where_the_contract_says(tmp_path: Path) -> None:
    """A field-level `missingValues` makes its token a blank, and only in that column."""
    other = next(f.name for f in sample.fields("numeric") if f.name not in (COUNT, CONTRACT.value))
    data = CONTRACT.model_dump(by_alias=True, exclude={"source"})
    for field in data["fields"]:
        if field["name"] == other:
            field["missingValues"] = ["", "n/a"]
            field["constraints"]["required"] = False
    from gitops.contract.load import from_mapping

    contract = from_mapping(data, "tokens.yaml")
    path = _with_values(tmp_path, {(3, other): "n/a", (4, COUNT): "n/a"})
    with pytest.raises(DataValidationError) as err:
        check(reading.read_csv(path, contract), contract, str(path))
    assert err.value.problems == [
        f"column '{COUNT}': must be a number: 1 row(s) fail: line 6 ('n/a')"
    ]
