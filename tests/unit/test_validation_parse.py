"""Parsing numbers fast without changing what validation accepts or how it reports errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from churn import validation
from support import ROOT

SAMPLE = ROOT / "data/raw/iranian_churn.csv"


def _with_values(tmp_path: Path, values: dict[tuple[int, int], str]) -> Path:
    """The sample's first 50 rows with some cells replaced: (row, column position) -> text."""
    lines = SAMPLE.read_text().splitlines()[:51]
    for (row, col), text in values.items():
        cells = lines[row + 1].split(",")
        cells[col] = text
        lines[row + 1] = ",".join(cells)
    path = tmp_path / "customers.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_plain_numbers_take_the_vectorised_path_and_parse_like_the_careful_one() -> None:
    raw = pd.Series(["1", "2.5", "-0", "1e3", "+5"], dtype="str")
    fast = validation._clean_floats(raw)
    careful = pd.to_numeric(raw.astype("string").str.strip(), errors="coerce").astype("float64")
    assert fast is not None
    assert fast.tolist() == careful.tolist() == [1.0, 2.5, 0.0, 1000.0, 5.0]
    assert str(fast.iloc[2]) == "0.0", "-0 must become 0.0, as the careful path gives"


@pytest.mark.parametrize("text", [" 3", "4 ", "nan", "abc", "1_000", "0x10", "", "１２"])
def test_anything_unusual_falls_back_to_the_careful_path(text: str) -> None:
    assert validation._clean_floats(pd.Series(["1", text], dtype="str")) is None


def test_values_with_blanks_around_them_are_accepted(tmp_path: Path) -> None:
    path = _with_values(tmp_path, {(3, 0): "4 ", (5, 12): "12.5 "})
    frame = validation.check(validation.read_csv(path), str(path))
    assert frame.loc[5, "call_failures"] == 4
    assert frame.loc[7, "customer_value"] == 12.5


def test_words_are_still_reported_by_line_and_column(tmp_path: Path) -> None:
    path = _with_values(tmp_path, {(3, 0): "many", (8, 12): "nan"})
    with pytest.raises(validation.DataValidationError) as err:
        validation.check(validation.read_csv(path), str(path))
    text = str(err.value)
    assert "column 'call_failures': must be a number: 1 row(s) fail: line 5 ('many')" in text
    assert "column 'customer_value': must be a number: 1 row(s) fail: line 10 ('nan')" in text


def test_infinite_values_are_reported_instead_of_crashing_the_cast(tmp_path: Path) -> None:
    path = _with_values(tmp_path, {(3, 0): "Infinity", (4, 12): "-inf"})
    with pytest.raises(validation.DataValidationError) as err:
        validation.check(validation.read_csv(path), str(path))
    text = str(err.value)
    assert "column 'call_failures': must be a finite number: 1 row(s) fail: line 5" in text
    assert "column 'customer_value': must be a finite number: 1 row(s) fail: line 6" in text
    assert "must not be empty" not in text


def test_scoring_fast_path_refuses_infinity_as_check_does() -> None:
    frame = validation.check(validation.read_csv(SAMPLE), str(SAMPLE)).head(20)
    assert validation.passes(frame)
    frame = frame.astype({"call_failures": "float64"})
    frame.loc[frame.index[3], "call_failures"] = float("inf")
    assert not validation.passes(frame)
